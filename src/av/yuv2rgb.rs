//! 4:2:0 YCbCr (with or without alpha) to packed RGB(A) exactly as HyperFrames' ffmpeg converts a
//! VP8/VP9 picture for its PNG frames, in integer Rust, so the result is the same on any machine.
//!
//! HyperFrames extracts such a source with `-c:v png` and no scale filter of its own: the ffmpeg
//! CLI inserts one (`flags=bicubic`), and for `yuv420p`/`yuva420p` → `rgb24`/`rgba` at the same
//! size, an even number of lines and no `accurate_rnd`, swscale takes its unscaled fast path
//! (`ff_yuv2rgb_get_func_ptr`), on x86 the SSSE3 `yuv420_rgb24` / `yuva420_bgr32` of
//! `libswscale/x86/yuv_2_rgb.asm`: each chroma sample serves its 2×2 pixels, and every term is a
//! 16-bit `pmulhw` of 8×-scaled samples by coefficients from `ff_yuv2rgb_c_init_tables`. Those
//! are reproduced here (FFmpeg 5.1; bit-identical to that ffmpeg's files, checked in
//! `tests/media.rs`). Other pictures take swscale's bit-exact path instead (see
//! [`super::video_decode`]).

use super::ff;

/// The fast path's fixed-point coefficients for one matrix and range (`SwsContext`'s
/// `yCoeff`, `yOffset`, `vrCoeff`, `ubCoeff`, `ugCoeff`, `vgCoeff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Coefficients {
    y: i16,
    y_offset: i16,
    vr: i16,
    ub: i16,
    ug: i16,
    vg: i16,
}

/// `roundToInt16`: a 16.16 value rounded to an integer and saturated to 16 bits.
fn round_to_i16(f: i64) -> i16 {
    let r = (f + (1 << 15)) >> 16;
    r.clamp(-0x7fff, 0x7fff) as i16
}

impl Coefficients {
    /// `ff_yuv2rgb_c_init_tables` with brightness 0, contrast and saturation 1, for
    /// `sws_getCoefficients(matrix)` (`inv`) and a source of `full` range.
    fn new(inv: [i32; 4], full: bool) -> Coefficients {
        let (mut crv, mut cbu, mut cgu, mut cgv) =
            (i64::from(inv[0]), i64::from(inv[1]), -i64::from(inv[2]), -i64::from(inv[3]));
        let (mut cy, mut oy) = (1i64 << 16, 0i64);
        if full {
            crv = crv * 224 / 255;
            cbu = cbu * 224 / 255;
            cgu = cgu * 224 / 255;
            cgv = cgv * 224 / 255;
        } else {
            cy = cy * 255 / 219;
            oy = 16 << 16;
        }
        // Contrast and saturation of 1 << 16 leave the values as they are.
        Coefficients {
            y: round_to_i16(cy * (1 << 13)),
            y_offset: round_to_i16(oy * (1 << 3)),
            vr: round_to_i16(crv * (1 << 13)),
            ub: round_to_i16(cbu * (1 << 13)),
            ug: round_to_i16(cgu * (1 << 13)),
            vg: round_to_i16(cgv * (1 << 13)),
        }
    }
}

/// `pmulhw`: the high half of a signed 16 × 16-bit product.
fn mulhi(a: i16, b: i16) -> i16 {
    ((i32::from(a) * i32::from(b)) >> 16) as i16
}

/// `packuswb`: a signed word saturated to a byte.
fn to_u8(v: i16) -> u8 {
    v.clamp(0, 255) as u8
}

/// One pixel: luma `y`, chroma `u`, `v` as stored; R, G, B.
fn pixel(c: &Coefficients, y: u8, u: u8, v: u8) -> [u8; 3] {
    let u = (i16::from(u) << 3).saturating_sub(1024);
    let v = (i16::from(v) << 3).saturating_sub(1024);
    let y = mulhi((i16::from(y) << 3).wrapping_sub(c.y_offset), c.y);
    let g = mulhi(u, c.ug).saturating_add(mulhi(v, c.vg));
    [to_u8(y.saturating_add(mulhi(v, c.vr))), to_u8(y.saturating_add(g)), to_u8(y.saturating_add(mulhi(u, c.ub)))]
}

/// Whether [`convert`] takes `frame` (as the fast path would): `yuv420p` or `yuva420p` shown at
/// its own size, with an even number of lines.
pub(super) fn applies(frame: &ff::frame::Video, w: u32, h: u32) -> bool {
    use ff::format::Pixel;
    matches!(frame.format(), Pixel::YUV420P | Pixel::YUVA420P)
        && (frame.width(), frame.height()) == (w, h)
        && h.is_multiple_of(2)
}

/// Write `frame` (see [`applies`]) into `out` as packed RGB (`channels` 3) or RGBA (4; the alpha
/// plane, or opaque without one), rows `stride` bytes apart, with matrix `inv`
/// (`sws_getCoefficients`) and range `full`.
pub(super) fn convert(frame: &ff::frame::Video, inv: [i32; 4], full: bool, out: &mut [u8], stride: usize, channels: usize) {
    let c = Coefficients::new(inv, full);
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let alpha = frame.format() == ff::format::Pixel::YUVA420P;
    for row in 0..h {
        let plane = |i: usize, r: usize, n: usize| &frame.data(i)[r * frame.stride(i)..][..n];
        let (ys, us, vs) = (plane(0, row, w), plane(1, row / 2, w.div_ceil(2)), plane(2, row / 2, w.div_ceil(2)));
        let a = if alpha { Some(plane(3, row, w)) } else { None };
        let line = &mut out[row * stride..][..w * channels];
        for (x, px) in line.chunks_exact_mut(channels).enumerate() {
            px[..3].copy_from_slice(&pixel(&c, ys[x], us[x / 2], vs[x / 2]));
            if channels == 4 {
                px[3] = a.map_or(255, |a| a[x]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coefficients_are_ffmpegs() {
        // BT.601 TV range, as FFmpeg 5.1 stores them for its MMX/SSSE3 code.
        let c = Coefficients::new([104597, 132201, 25675, 53279], false);
        assert_eq!(c, Coefficients { y: 9539, y_offset: 128, vr: 13075, ub: 16525, ug: -3209, vg: -6660 });
        // Black, white and a mid grey of TV range come out as full-range RGB.
        assert_eq!(pixel(&c, 16, 128, 128), [0, 0, 0]);
        assert_eq!(pixel(&c, 235, 128, 128), [255, 255, 255]);
        assert_eq!(pixel(&c, 126, 128, 128), [128, 128, 128]);
    }
}
