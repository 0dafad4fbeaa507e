//! Captured JPEG (JFIF: BT.601 YCbCr, full range, 4:2:0) → BT.709 TV-range yuv420p, in one pass
//! of integer arithmetic.
//!
//! swscale can do this only through RGBA and, with the bit-exact flags that make its output the
//! same on every CPU, only on its slow C paths (two passes cost more CPU per frame than x264's
//! ultrafast preset). This does the same maths directly: for each 2×2 block, the four pixels are
//! turned into RGB with the JFIF matrix (chroma upsampled as libjpeg does, RGB clamped to 0..255,
//! as a decoder would), each gets its BT.709 luma, and the block's chroma is taken from the mean
//! of the four RGB values. Fixed-point
//! with 16 fractional bits and round-half-up everywhere, so the bytes are the same on any machine.

/// JFIF YCbCr → RGB, ×65536.
const R_CR: i32 = 91_881;
const G_CB: i32 = 22_554;
const G_CR: i32 = 46_802;
const B_CB: i32 = 116_130;
/// RGB → BT.709 TV-range Y'CbCr, ×65536 (219/255 and 224/255 folded in; chroma rows sum to 0).
const Y_R: i32 = 11_966;
const Y_G: i32 = 40_254;
const Y_B: i32 = 4_064;
const CB_R: i32 = -6_596;
const CB_G: i32 = -22_188;
const CB_B: i32 = 28_784;
const CR_R: i32 = 28_784;
const CR_G: i32 = -26_145;
const CR_B: i32 = -2_639;
const HALF: i32 = 1 << 15;

/// One decoded 4:2:0 picture: planes with their row strides.
pub struct Planes<'a> {
    /// Luma.
    pub y: &'a [u8],
    /// Luma row stride.
    pub y_stride: usize,
    /// Blue-difference chroma (half width, half height).
    pub cb: &'a [u8],
    /// Red-difference chroma (half width, half height).
    pub cr: &'a [u8],
    /// Chroma row stride.
    pub c_stride: usize,
}

#[inline]
fn rgb(y: i32, cb: i32, cr: i32) -> [i32; 3] {
    let y = y << 16;
    let r = (y + R_CR * cr + HALF) >> 16;
    let g = (y - G_CB * cb - G_CR * cr + HALF) >> 16;
    let b = (y + B_CB * cb + HALF) >> 16;
    [r.clamp(0, 255), g.clamp(0, 255), b.clamp(0, 255)]
}

#[inline]
fn luma([r, g, b]: [i32; 3]) -> u8 {
    (16 + ((Y_R * r + Y_G * g + Y_B * b + HALF) >> 16)) as u8
}

/// The chroma (centred on 0) of pixel `(dx, dy)` of block `(bx, by)`, upsampled like libjpeg's
/// "fancy" upsampling and Chromium's own JPEG decoding: JFIF chroma sits at the centre of each
/// 2×2 block, so a pixel takes 9/16 of its block's sample, 3/16 of each side neighbour's and 1/16
/// of the diagonal one (edges repeat).
#[inline]
fn chroma_at(
    p: &Planes<'_>,
    (bx, by): (usize, usize),
    (dx, dy): (usize, usize),
    (cw, ch): (usize, usize),
) -> (i32, i32) {
    let nx = if dx == 0 { bx.saturating_sub(1) } else { (bx + 1).min(cw - 1) };
    let ny = if dy == 0 { by.saturating_sub(1) } else { (by + 1).min(ch - 1) };
    let tap = |plane: &[u8]| {
        let at = |x: usize, y: usize| i32::from(plane[y * p.c_stride + x]);
        ((9 * at(bx, by) + 3 * at(nx, by) + 3 * at(bx, ny) + at(nx, ny) + 8) >> 4) - 128
    };
    (tap(p.cb), tap(p.cr))
}

/// Convert a `width`×`height` JFIF 4:2:0 picture into tightly packed BT.709 TV-range yuv420p.
pub fn jfif420_to_bt709(p: &Planes<'_>, width: usize, height: usize) -> Vec<u8> {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    let mut out = vec![0u8; width * height + 2 * cw * ch];
    let (y_out, c_out) = out.split_at_mut(width * height);
    let (u_out, v_out) = c_out.split_at_mut(cw * ch);
    for by in 0..ch {
        for bx in 0..cw {
            let mut sum = [0i32; 3];
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                // Odd sizes: the missing column/row repeats the last one.
                let (x, y) = ((2 * bx + dx).min(width - 1), (2 * by + dy).min(height - 1));
                let (cb, cr) = chroma_at(p, (bx, by), (dx, dy), (cw, ch));
                let px = rgb(i32::from(p.y[y * p.y_stride + x]), cb, cr);
                y_out[y * width + x] = luma(px);
                for k in 0..3 {
                    sum[k] += px[k];
                }
            }
            // Mean of four, folded into the shift: (coef·sum + 2^17) >> 18.
            let [r, g, b] = sum;
            let u = 128 + ((CB_R * r + CB_G * g + CB_B * b + (1 << 17)) >> 18);
            let v = 128 + ((CR_R * r + CR_G * g + CR_B * b + (1 << 17)) >> 18);
            u_out[by * cw + bx] = u.clamp(16, 240) as u8;
            v_out[by * cw + bx] = v.clamp(16, 240) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(y: u8, cb: u8, cr: u8) -> Vec<u8> {
        let (yp, cbp, crp) = ([y; 4], [cb], [cr]);
        jfif420_to_bt709(&Planes { y: &yp, y_stride: 2, cb: &cbp, cr: &crp, c_stride: 1 }, 2, 2)
    }

    #[test]
    fn greys_map_to_tv_range() {
        assert_eq!(solid(0, 128, 128), vec![16, 16, 16, 16, 128, 128]);
        assert_eq!(solid(255, 128, 128), vec![235, 235, 235, 235, 128, 128]);
        assert_eq!(solid(128, 128, 128)[..4], [126, 126, 126, 126]);
    }

    #[test]
    fn primaries_land_on_bt709_values() {
        // Pure red in JFIF (Y 76, Cb 85, Cr 255) is BT.709 TV red: Y 63, Cb 102, Cr 240.
        let red = solid(76, 85, 255);
        assert!(red[0].abs_diff(63) <= 1, "{red:?}");
        assert!(red[4].abs_diff(102) <= 1 && red[5].abs_diff(240) <= 1, "{red:?}");
        // Pure blue (Y 29, Cb 255, Cr 107): Y 32, Cb 240, Cr 118.
        let blue = solid(29, 255, 107);
        assert!(blue[0].abs_diff(32) <= 1 && blue[4].abs_diff(240) <= 1 && blue[5].abs_diff(118) <= 1, "{blue:?}");
    }
}
