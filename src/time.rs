//! Time as exact rationals and integers.
//!
//! Nothing that computes a timestamp uses floating point: frame rates and time bases are
//! [`Rational`]s, frames are integer indices, and [`Fps::frame_to_ts`] is the one function that turns
//! a frame index into a timestamp. Intermediate products use `i128`, so no realistic input overflows.

use serde::{Deserialize, Serialize};

/// A reduced fraction `num/den` with `den > 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rational {
    /// Numerator.
    pub num: i64,
    /// Denominator, always positive.
    pub den: i64,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Least common multiple of two positive integers, e.g. a timescale that counts two others'
/// ticks exactly.
pub fn lcm(a: i64, b: i64) -> i64 {
    let g = gcd(a as i128, b as i128).max(1);
    (a as i128 / g * b as i128).clamp(1, i64::MAX as i128) as i64
}

impl Rational {
    /// `num/den` reduced; `None` when `den` is zero or the reduced value does not fit `i64`.
    pub fn new(num: i64, den: i64) -> Option<Self> {
        Self::from_i128(num as i128, den as i128)
    }

    fn from_i128(num: i128, den: i128) -> Option<Self> {
        if den == 0 {
            return None;
        }
        let sign = if den < 0 { -1 } else { 1 };
        let g = gcd(num, den).max(1);
        let (num, den) = (sign * num / g, sign * den / g);
        Some(Rational { num: i64::try_from(num).ok()?, den: i64::try_from(den).ok()? })
    }

    /// The reciprocal, `den/num`; `None` for zero.
    pub fn recip(self) -> Option<Self> {
        Self::new(self.den, self.num)
    }

    /// Zero.
    pub const ZERO: Rational = Rational { num: 0, den: 1 };

    /// A whole number.
    pub fn int(n: i64) -> Self {
        Rational { num: n, den: 1 }
    }

    /// Parse a plain decimal such as `"2"`, `"-0.5"` or `"1.25"` exactly (no exponent, at most
    /// 12 fractional digits); `None` for anything else.
    pub fn parse_decimal(text: &str) -> Option<Self> {
        let t = text.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || frac.len() > 12 {
            return None;
        }
        let den = 10i128.pow(frac.len() as u32);
        let w: i128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let f: i128 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
        let num = w.checked_mul(den)?.checked_add(f)?;
        Self::from_i128(if neg { -num } else { num }, den)
    }

    /// `self + other`; `None` on overflow.
    pub fn checked_add(self, other: Rational) -> Option<Self> {
        let (a, b) = (self.num as i128 * other.den as i128, other.num as i128 * self.den as i128);
        Self::from_i128(a + b, self.den as i128 * other.den as i128)
    }

    /// `self − other`; `None` on overflow.
    pub fn checked_sub(self, other: Rational) -> Option<Self> {
        self.checked_add(Rational { num: -other.num, den: other.den })
    }

    /// `self × other`; `None` on overflow.
    pub fn checked_mul(self, other: Rational) -> Option<Self> {
        Self::from_i128(self.num as i128 * other.num as i128, self.den as i128 * other.den as i128)
    }

    /// The largest integer ≤ self.
    pub fn floor(self) -> i64 {
        self.num.div_euclid(self.den)
    }

    /// The smallest integer ≥ self.
    pub fn ceil(self) -> i64 {
        -((-self.num).div_euclid(self.den))
    }

    /// An approximation for display and for the page runtime; never for timestamp maths.
    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl PartialOrd for Rational {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rational {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.num as i128 * other.den as i128).cmp(&(other.num as i128 * self.den as i128))
    }
}

impl std::fmt::Display for Rational {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// `n / d` rounded to nearest, halves away from zero, saturating into `i64`.
fn round_div(n: i128, d: i128) -> i64 {
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    let q = if n >= 0 { (2 * n + d) / (2 * d) } else { -((-2 * n + d) / (2 * d)) };
    q.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// A frame rate: a positive rational frames per second, e.g. 30/1 or 30000/1001.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fps(Rational);

impl Fps {
    /// A frame rate from `num/den` frames per second; `None` unless both are positive.
    pub fn new(num: i64, den: i64) -> Option<Self> {
        if num <= 0 || den <= 0 {
            return None;
        }
        Rational::new(num, den).map(Fps)
    }

    /// Frames per second as a rational.
    pub fn rate(self) -> Rational {
        self.0
    }

    /// Numerator of frames per second.
    pub fn num(self) -> i64 {
        self.0.num
    }

    /// Denominator of frames per second.
    pub fn den(self) -> i64 {
        self.0.den
    }

    /// The duration of one frame, `den/num` seconds.
    pub fn frame_duration(self) -> Rational {
        Rational { num: self.0.den, den: self.0.num }
    }

    /// The timestamp of frame `frame` in `time_base` units: `frame·den/num / time_base`, rounded
    /// to nearest. It is exact whenever `time_base` divides the frame duration, as
    /// [`Fps::video_time_base`] guarantees. This is the only frame→timestamp function.
    pub fn frame_to_ts(self, frame: i64, time_base: Rational) -> i64 {
        let n = frame as i128 * self.0.den as i128 * time_base.den as i128;
        let d = self.0.num as i128 * time_base.num as i128;
        round_div(n, d)
    }

    /// Number of whole audio samples at `sample_rate` that span `frames` frames, rounded to
    /// nearest: `round(frames·den/num·rate)`.
    pub fn samples_for_frames(self, frames: i64, sample_rate: i64) -> i64 {
        round_div(frames as i128 * self.0.den as i128 * sample_rate as i128, self.0.num as i128)
    }

    /// The time base for a video stream at this rate: 1/90000 when a frame is a whole number of
    /// 90 kHz ticks (24, 25, 30, 30000/1001, 50, 60 …), else the smallest `1/(k·num)` with
    /// `k·num ≥ 10000`, so every frame boundary is an exact integer tick.
    pub fn video_time_base(self) -> Rational {
        let num = self.0.num;
        if (90_000i128 * self.0.den as i128) % num as i128 == 0 {
            return Rational { num: 1, den: 90_000 };
        }
        let k = (10_000 + num - 1) / num;
        Rational { num: 1, den: num * k.max(1) }
    }

    /// The number of frames needed to cover `seconds` (a rational), `ceil(seconds × fps)`.
    pub fn frames_for(self, seconds: Rational) -> i64 {
        let n = seconds.num as i128 * self.0.num as i128;
        let d = seconds.den as i128 * self.0.den as i128;
        let q = n.div_euclid(d) + i128::from(n.rem_euclid(d) != 0);
        q.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

impl std::fmt::Display for Fps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.0.num, self.0.den)
    }
}

/// A half-open range of absolute frame indices `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrameRange {
    /// First frame, inclusive.
    pub start: i64,
    /// One past the last frame.
    pub end: i64,
}

impl FrameRange {
    /// Number of frames in the range.
    pub fn len(self) -> i64 {
        self.end - self.start
    }

    /// Whether the range holds no frame.
    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(Rational::parse_decimal("1.25"), Rational::new(5, 4));
        assert_eq!(Rational::parse_decimal("-0.5"), Rational::new(-1, 2));
        assert_eq!(Rational::parse_decimal(" 3 "), Some(Rational::int(3)));
        assert_eq!(Rational::parse_decimal(".5"), Rational::new(1, 2));
        for bad in ["", ".", "1e3", "abc", "1.2.3", "--1", "0x10", "NaN"] {
            assert_eq!(Rational::parse_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn arithmetic_floor_ceil_order() {
        let a = Rational::new(7, 3).unwrap_or(Rational::ZERO);
        assert_eq!(a.floor(), 2);
        assert_eq!(a.ceil(), 3);
        assert_eq!(Rational::new(-7, 3).map(|r| (r.floor(), r.ceil())), Some((-3, -2)));
        assert_eq!(a.checked_sub(Rational::int(1)), Rational::new(4, 3));
        assert_eq!(a.checked_mul(Rational::int(3)), Some(Rational::int(7)));
        assert!(Rational::new(1, 3) < Rational::new(1, 2));
    }

    #[test]
    fn reduces_and_normalises_sign() {
        assert_eq!(Rational::new(60, -2), Some(Rational { num: -30, den: 1 }));
        assert_eq!(Rational::new(1, 0), None);
    }

    #[test]
    fn frame_timestamps_are_exact() {
        let ntsc = Fps::new(30000, 1001).unwrap();
        let tb = ntsc.video_time_base();
        assert_eq!(tb, Rational { num: 1, den: 90_000 });
        assert_eq!(ntsc.frame_to_ts(300, tb), 300 * 3003);
        let odd = Fps::new(7, 1).unwrap();
        let tb = odd.video_time_base();
        assert_eq!(tb.den % 7, 0);
        assert_eq!(odd.frame_to_ts(7, tb), tb.den);
        let film = Fps::new(24000, 1001).unwrap();
        let tb = film.video_time_base();
        assert_eq!(film.frame_to_ts(1, tb) * 24000, tb.den * 1001);
    }

    #[test]
    fn samples_round_to_nearest() {
        let ntsc = Fps::new(30000, 1001).unwrap();
        assert_eq!(ntsc.samples_for_frames(300, 48_000), 480_480);
        let thirty = Fps::new(30, 1).unwrap();
        assert_eq!(thirty.samples_for_frames(10, 48_000), 16_000);
        let seven = Fps::new(7, 1).unwrap();
        assert_eq!(seven.samples_for_frames(1, 48_000), 6857);
    }

    #[test]
    fn lcm_counts_both_timescales() {
        assert_eq!(lcm(90_000, 48_000), 720_000);
        assert_eq!(lcm(30_000, 48_000), 240_000);
    }

    #[test]
    fn frames_for_is_a_ceiling() {
        let thirty = Fps::new(30, 1).unwrap();
        assert_eq!(thirty.frames_for(Rational { num: 10, den: 1 }), 300);
        assert_eq!(thirty.frames_for(Rational { num: 1001, den: 100 }), 301);
    }
}
