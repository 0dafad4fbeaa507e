//! `data-automation`: lanes of points on a clip's clock (seconds from the clip's start) or a
//! group's (composition time), checked and normalised as HyperFrames 0.8.170's
//! `parseAutomation` does, and the volume lane turned into the gain envelope HyperFrames bakes
//! into the samples (`volumeLaneKeyframes`, `createEnvelopeWalker`).

use serde_json::Value;

/// The highest gain HyperFrames lets anything ask for (`MAX_AUDIO_GAIN` = `10 ** (12 / 20)`,
/// +12 dB, the double JavaScript computes): volume points, envelope keys and (as
/// [`mix_gain`] formats it) every static `data-volume` in the mix.
pub const MAX_GAIN: f64 = 3.981_071_705_534_972_2;

/// The gain a static `data-volume` (of a clip, a group member or a group) is mixed at, as
/// HyperFrames' `buildVolumeExpression` hands it to ffmpeg's `volume` filter:
/// `clampAudioGain` (0..[`MAX_GAIN`], not finite → 1), then `formatFilterNumber` (JavaScript's
/// `toFixed(6)`), read back as the filter's float. So 5 and 20 both mix at 3.981072, for every
/// clip, with effects or without.
pub fn mix_gain(volume: f64) -> f32 {
    let v = if volume.is_finite() { volume.clamp(0.0, MAX_GAIN) } else { 1.0 };
    to_fixed6(v) as f32
}

/// JavaScript's `Number(x.toFixed(6))` for a gain (0 ≤ x ≤ [`MAX_GAIN`]): the nearest multiple
/// of 1e-6 to the exact value of `x`, the larger one on a tie, as the double its text parses to.
pub(crate) fn to_fixed6(x: f64) -> f64 {
    // 60 places hold every digit that can decide the rounding of a double in this range.
    let exact = format!("{x:.60}");
    let (int, frac) = exact.split_once('.').unwrap_or((&exact, ""));
    let (Ok(int), Ok(micro)) = (int.parse::<u64>(), frac.get(..6).unwrap_or("0").parse::<u64>()) else { return x };
    let up = frac.as_bytes().get(6).is_some_and(|d| *d >= b'5');
    let n = int * 1_000_000 + micro + u64::from(up);
    format!("{}.{:06}", n / 1_000_000, n % 1_000_000).parse().unwrap_or(x)
}

/// The slowest playback a `rate` point may ask for (`MIN_PLAYBACK_RATE`).
pub const MIN_RATE: f64 = 0.1;
/// The fastest playback a `rate` point may ask for (`MAX_PLAYBACK_RATE`).
pub const MAX_RATE: f64 = 10.0;

/// At most this many points per lane are kept.
const MAX_POINTS: usize = 512;

/// A curved volume segment is approximated by this many straight pieces per second.
const CURVED_STEPS_PER_SECOND: f64 = 30.0;

/// One point of a lane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Seconds on the lane's clock (≥ 0).
    pub t: f64,
    /// The value.
    pub v: f64,
    /// The segment's bend after this point, −1..1 (0 = straight).
    pub curve: f64,
    /// A via point inside the segment (x, y in 0.001..0.999), when given.
    pub via: Option<(f64, f64)>,
}

/// One lane: a target and its points, sorted by time.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// `volume`, `rate`, `fx.<node>.<param>` or `fx.preset.<preset>`.
    pub target: String,
    /// The points, sorted, one per time.
    pub points: Vec<Point>,
}

/// A checked `data-automation`.
#[derive(Debug, Clone, PartialEq)]
pub struct Automation {
    /// The attribute's text, handed to HyperFrames' runtime as it is.
    pub json: String,
    /// The lanes that have points.
    pub lanes: Vec<Lane>,
}

fn target_ok(target: &str) -> bool {
    if target == "volume" || target == "rate" {
        return true;
    }
    let parts: Vec<&str> = target.split('.').collect();
    parts.len() == 3 && parts[0] == "fx" && !parts[1].is_empty() && !parts[2].is_empty()
}

impl Automation {
    /// Check `json` as HyperFrames' `parseAutomation` does; the error says what is wrong.
    pub fn parse(json: &str) -> Result<Automation, String> {
        let raw: Value = serde_json::from_str(json).map_err(|e| format!("not valid JSON: {e}"))?;
        let obj = raw.as_object().ok_or("must be a JSON object")?;
        if obj.get("version").and_then(Value::as_f64) != Some(1.0) {
            return Err(format!("unsupported automation version: {}", obj.get("version").unwrap_or(&Value::Null)));
        }
        let lanes = obj.get("lanes").and_then(Value::as_array).ok_or("missing a `lanes` array")?;
        let mut out = Vec::new();
        for (i, lane) in lanes.iter().enumerate() {
            let lane = lane.as_object().ok_or_else(|| format!("lane {i} is not an object"))?;
            let target = lane.get("target").and_then(Value::as_str).filter(|t| target_ok(t));
            let target = target.ok_or_else(|| format!("lane {i} has an unreadable target"))?;
            let points = lane.get("points").and_then(Value::as_array);
            let points = points.ok_or_else(|| format!("lane {i} is missing a `points` array"))?;
            let points = normalize(points, target);
            if !points.is_empty() {
                out.push(Lane { target: target.to_string(), points });
            }
        }
        Ok(Automation { json: json.to_string(), lanes: out })
    }

    /// The lane for `target`, if it has points.
    pub fn lane(&self, target: &str) -> Option<&Lane> {
        self.lanes.iter().find(|l| l.target == target)
    }

    /// The volume lane as an envelope over `duration` seconds of the lane's clock
    /// (`volumeLaneKeyframes`): a point at 0 holding the first value, each point, curved
    /// segments cut into straight pieces, and a point at `duration` holding the last value.
    pub fn volume_envelope(&self, duration: f64) -> Option<Envelope> {
        let lane = self.lane("volume")?;
        let (first, last) = (lane.points.first()?, lane.points.last()?);
        let mut keys = Vec::new();
        if first.t > 0.0 {
            keys.push((0.0, first.v));
        }
        for (i, a) in lane.points.iter().enumerate() {
            keys.push((a.t, a.v));
            let Some(b) = lane.points.get(i + 1).filter(|_| a.curve != 0.0) else { continue };
            let steps = ((b.t - a.t) * CURVED_STEPS_PER_SECOND).ceil().max(2.0) as usize;
            for k in 1..steps {
                let t = a.t + (b.t - a.t) * k as f64 / steps as f64;
                keys.push((t, sample(lane, t)));
            }
        }
        if duration > last.t {
            keys.push((duration, last.v));
        }
        Some(Envelope::new(keys))
    }
}

/// HyperFrames' `normalizePoints`: readable points, times ≥ 0, volume clamped, sorted, a later
/// point replacing an earlier one at the same time, at most [`MAX_POINTS`].
fn normalize(points: &[Value], target: &str) -> Vec<Point> {
    let range = match target {
        "volume" => Some((0.0, MAX_GAIN)),
        "rate" => Some((MIN_RATE, MAX_RATE)),
        _ => None,
    };
    let mut clean: Vec<Point> = points.iter().filter_map(|p| point(p, range)).collect();
    clean.sort_by(|a, b| a.t.total_cmp(&b.t));
    let mut out: Vec<Point> = Vec::new();
    for p in clean {
        match out.last_mut() {
            Some(last) if last.t == p.t => *last = p,
            _ => out.push(p),
        }
    }
    out.truncate(MAX_POINTS);
    out
}

fn point(p: &Value, range: Option<(f64, f64)>) -> Option<Point> {
    let (t, v) = (number(p.get("t"))?, number(p.get("v"))?);
    let curve = number(p.get("curve")).map_or(0.0, |c| c.clamp(-1.0, 1.0));
    let via = match (number(p.get("viaX")), number(p.get("viaY"))) {
        (Some(x), Some(y)) => Some((x.clamp(1e-3, 0.999), y.clamp(1e-3, 0.999))).filter(|(x, y)| (x - y).abs() >= 1e-6),
        _ => None,
    };
    let v = range.map_or(v, |(min, max)| v.clamp(min, max));
    Some(Point { t: t.max(0.0), v, curve, via })
}

/// HyperFrames' `sampleAutomationLane` on a linear lane: hold outside the points, shaped
/// progress between them.
fn sample(lane: &Lane, t: f64) -> f64 {
    sample_lane(lane, t, false)
}

/// HyperFrames' `sampleAutomationLane`: hold outside the points, shaped progress between them,
/// interpolated in log space when `log` (and both ends are above 0).
pub(crate) fn sample_lane(lane: &Lane, t: f64, log: bool) -> f64 {
    let pts = &lane.points;
    let (Some(first), Some(last)) = (pts.first(), pts.last()) else { return 0.0 };
    if t <= first.t {
        return first.v;
    }
    if t >= last.t {
        return last.v;
    }
    let hi = pts.partition_point(|p| p.t <= t).clamp(1, pts.len() - 1);
    let (a, b) = (pts[hi - 1], pts[hi]);
    let span = b.t - a.t;
    if span <= 0.0 {
        return b.v;
    }
    let x = shape((t - a.t) / span, &a);
    if log && a.v > 0.0 && b.v > 0.0 {
        (a.v.ln() + (b.v.ln() - a.v.ln()) * x).exp()
    } else {
        a.v + (b.v - a.v) * x
    }
}

fn shape(x: f64, a: &Point) -> f64 {
    match a.via {
        Some((vx, vy)) => shape_via(x.clamp(0.0, 1.0), vx, vy),
        None if a.curve != 0.0 => x.powf(2f64.powf(2.0 * a.curve)),
        None => x,
    }
}

/// The rational quadratic (conic) through a via point, as HyperFrames' `shapeVia`.
fn shape_via(x: f64, vx: f64, vy: f64) -> f64 {
    let (dx, dy, edge) = (vx - 0.5, vy - 0.5, 0.999);
    let need = |d: f64, v: f64| {
        if d > 0.0 {
            d / (edge - v)
        } else if d < 0.0 {
            -d / (v - (1.0 - edge))
        } else {
            0.0
        }
    };
    let w = need(dx, vx).max(need(dy, vy)).clamp(1.0, 1e6);
    let (cx, cy) = (vx + dx / w, vy + dy / w);
    let spread = 2.0 - 2.0 * w;
    let a = x * spread - 1.0 + 2.0 * w * cx;
    let b = -x * spread - 2.0 * w * cx;
    let t = conic_param(a, b, x);
    let rest = 1.0 - t;
    let den = rest * rest + 2.0 * w * t * rest + t * t;
    if den > 0.0 {
        (2.0 * w * cy * t * rest + t * t) / den
    } else {
        x
    }
}

fn conic_param(a: f64, b: f64, c: f64) -> f64 {
    if a.abs() < 1e-12 {
        return if b.abs() < 1e-12 { c } else { -c / b };
    }
    let root = (b * b - 4.0 * a * c).max(0.0).sqrt();
    let on_arc = |t: f64| (-1e-9..=1.0 + 1e-9).contains(&t);
    [(-b + root) / (2.0 * a), (-b - root) / (2.0 * a)].into_iter().find(|t| on_arc(*t)).map_or(c, |t| t.clamp(0.0, 1.0))
}

/// A piecewise-linear gain over time (HyperFrames' `createEnvelopeWalker`): keys sorted by
/// time, gains clamped to 0..[`MAX_GAIN`], held before the first and after the last key.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    keys: Vec<(f64, f64)>,
}

impl Envelope {
    /// The envelope through `keys` (time in seconds, gain); a later key at the same time wins.
    pub fn new(keys: Vec<(f64, f64)>) -> Envelope {
        let mut keys: Vec<(f64, f64)> = keys
            .into_iter()
            .filter(|(t, g)| t.is_finite() && g.is_finite())
            .map(|(t, g)| (t.max(0.0), g.clamp(0.0, MAX_GAIN)))
            .collect();
        keys.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out: Vec<(f64, f64)> = Vec::new();
        for k in keys {
            match out.last_mut() {
                Some(last) if (last.0 - k.0).abs() < 1e-9 => last.1 = k.1,
                _ => out.push(k),
            }
        }
        Envelope { keys: out }
    }

    /// The gain at `t` seconds.
    pub fn gain_at(&self, t: f64) -> f64 {
        let Some(&(_, first)) = self.keys.first() else { return 1.0 };
        let i = self.keys.partition_point(|k| k.0 <= t);
        if i == 0 {
            return first;
        }
        let a = self.keys[i - 1];
        let Some(&b) = self.keys.get(i) else { return a.1 };
        let span = b.0 - a.0;
        let x = if span <= 0.0 { 0.0 } else { ((t - a.0) / span).clamp(0.0, 1.0) };
        a.1 + (b.1 - a.1) * x
    }
}

/// A number as HyperFrames reads one: a finite number, or a non-blank string that parses.
pub(crate) fn number(v: Option<&Value>) -> Option<f64> {
    let n = match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if !s.trim().is_empty() => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_lane_becomes_a_held_linear_envelope() {
        let a = Automation::parse(
            r#"{"version":1,"lanes":[{"target":"volume","points":[{"t":3,"v":0.25},{"t":1,"v":1},{"t":"2","v":9}]}]}"#,
        )
        .unwrap();
        let env = a.volume_envelope(4.0).unwrap();
        assert_eq!(env.gain_at(0.0), 1.0);
        assert_eq!(env.gain_at(1.0), 1.0);
        assert!((env.gain_at(1.5) - (1.0 + MAX_GAIN) / 2.0).abs() < 1e-12);
        assert_eq!(env.gain_at(3.5), 0.25);
        assert_eq!(env.gain_at(10.0), 0.25);
    }

    #[test]
    fn curved_segments_bend() {
        let a = Automation::parse(
            r#"{"version":1,"lanes":[{"target":"volume","points":[{"t":0,"v":0,"curve":0.5},{"t":1,"v":1}]}]}"#,
        )
        .unwrap();
        let env = a.volume_envelope(1.0).unwrap();
        // x^(2^(2·0.5)) = x², sampled 30 times a second.
        assert!((env.gain_at(0.5) - 0.25).abs() < 0.01);
    }

    #[test]
    fn static_volumes_mix_as_hyperframes_formats_them() {
        assert_eq!(MAX_GAIN, 10f64.powf(12.0 / 20.0));
        assert_eq!(mix_gain(5.0), 3.981_072_f32);
        assert_eq!(mix_gain(20.0), 3.981_072_f32);
        assert_eq!(mix_gain(3.981), 3.981_f32);
        assert_eq!(mix_gain(0.123_456_7), 0.123_457_f32);
        assert_eq!(mix_gain(-1.0), 0.0);
        assert_eq!(mix_gain(f64::NAN), 1.0);
        // (0.0078125).toFixed(6) is "0.007813": an exact tie rounds up.
        assert_eq!(mix_gain(0.007_812_5), 0.007_813_f32);
        assert_eq!(mix_gain(1.0), 1.0);
    }

    #[test]
    fn refuses_what_hyperframes_refuses() {
        for bad in [
            "nope",
            r#"{"version":1}"#,
            r#"{"version":3,"lanes":[]}"#,
            r#"{"version":1,"lanes":[{"target":"pan","points":[]}]}"#,
        ] {
            assert!(Automation::parse(bad).is_err(), "{bad}");
        }
    }
}
