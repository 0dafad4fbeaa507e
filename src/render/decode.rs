//! The decode stage of a chunk: captures put back in frame order, decoded, and turned into what
//! the encoder takes — yuv420p for H.264 chunks (a JFIF 4:2:0 JPEG converted directly from the
//! decoder's planes, anything else through RGBA), RGBA otherwise.
//!
//! Output buffers come back from the encoder once it has copied them, so a chunk allocates a
//! handful of frame buffers in all rather than one per frame.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender};

use base64::Engine as _;

use super::color::{Jfif420ToBt709, Planes};
use crate::av::image::{DecodedImage, ImageCodec, ImageDecoder};
use crate::av::video::{FrameFormat, Yuv420Converter};
use crate::error::{Code, Error, Result};

/// A captured frame: its absolute index and the screenshot, base64 as the protocol sends it.
pub(super) struct Captured {
    pub frame: i64,
    pub data: String,
}

/// A decoded frame on its way to the encoder.
pub(super) struct Decoded(pub FrameFormat, pub Vec<u8>);

/// What the decode stage works with.
pub(super) struct DecodeSpec {
    pub codec: ImageCodec,
    pub width: u32,
    pub height: u32,
    /// The captured page's size: the output's, or one pixel less on an odd side (padded here).
    pub page: (u32, u32),
    /// Convert to yuv420p (H.264 chunks) rather than hand RGBA on.
    pub to_yuv: bool,
    /// The chunk's first frame: where the reordering starts.
    pub first: i64,
    /// Set when the chunk will not be published: the frames still queued are dropped.
    pub halt: super::pipeline::Halt,
}

/// Decode captures as they arrive, in frame order, until the capture side closes its channel.
pub(super) fn decode_loop(
    mut rx: tokio::sync::mpsc::Receiver<Captured>,
    tx: SyncSender<Decoded>,
    recycled: Receiver<Vec<u8>>,
    spec: DecodeSpec,
) -> Result<()> {
    let mut dec = FrameDecoder::open(&spec)?;
    let mut pending: BTreeMap<i64, String> = BTreeMap::new();
    let mut want = spec.first;
    while let Some(c) = rx.blocking_recv() {
        if spec.halt.is_set() {
            return Ok(());
        }
        pending.insert(c.frame, c.data);
        while let Some(data) = pending.remove(&want) {
            let buffer = recycled.try_recv().unwrap_or_default();
            let frame = dec.decode(&data, want, buffer)?;
            if tx.send(frame).is_err() {
                return Ok(());
            }
            want += 1;
        }
    }
    Ok(())
}

/// `pixels` (RGBA, `from` in size) at the top left of an opaque black `to`-sized image, as
/// HyperFrames' `pad=ceil(iw/2)*2:ceil(ih/2)*2` pads odd pages; unchanged when the sizes agree.
fn pad_black(pixels: Vec<u8>, from: (u32, u32), to: (u32, u32)) -> Vec<u8> {
    if from == to {
        return pixels;
    }
    let (fw, tw) = (from.0 as usize * 4, to.0 as usize * 4);
    let mut out = [0, 0, 0, 255].repeat(to.0 as usize * to.1 as usize);
    for (row, src) in pixels.chunks_exact(fw).take(from.1 as usize).enumerate() {
        out[row * tw..row * tw + fw].copy_from_slice(src);
    }
    out
}

/// The decode thread's decoder and converters.
struct FrameDecoder {
    images: ImageDecoder,
    size: (u32, u32),
    page: (u32, u32),
    /// Set for H.264 outputs: JPEG captures are converted to yuv420p here...
    jfif: Option<Jfif420ToBt709>,
    /// ...and so are RGBA ones.
    rgba: Option<Yuv420Converter>,
}

impl FrameDecoder {
    fn open(spec: &DecodeSpec) -> Result<Self> {
        let media = |e| Error::av(Code::MediaFailed, e);
        let images = ImageDecoder::open(spec.codec).map_err(media)?;
        let (w, h) = (spec.width, spec.height);
        let (jfif, rgba) = match spec.to_yuv {
            true => {
                let jfif = Jfif420ToBt709::new(w as usize, h as usize).ok_or_else(|| {
                    Error::new(Code::InvalidConfig, format!("{w}×{h} is not an even size for 4:2:0 output"))
                })?;
                (Some(jfif), Some(Yuv420Converter::new(w, h).map_err(media)?))
            }
            false => (None, None),
        };
        Ok(FrameDecoder { images, size: (w, h), page: spec.page, jfif, rgba })
    }

    /// Decode capture `b64` of `frame`, into `buffer` where the conversion allows.
    fn decode(&mut self, b64: &str, frame: i64, mut buffer: Vec<u8>) -> Result<Decoded> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| Error::new(Code::CaptureFailed, format!("frame {frame}: screenshot is not base64: {e}")))?;
        let failed = |e| Error::av(Code::CaptureFailed, e).prefixed(&format!("decoding captured frame {frame}"));
        let image = self.images.decode(&bytes).map_err(failed)?;
        let (w, h) = match &image {
            DecodedImage::Jfif420 { width, height, .. } | DecodedImage::Rgba { width, height, .. } => (*width, *height),
        };
        if (w, h) != self.page {
            let (pw, ph) = self.page;
            return Err(Error::new(
                Code::CaptureFailed,
                format!("frame {frame}: the browser captured {w}×{h}, the plan is {pw}×{ph}"),
            ));
        }
        match (image, self.jfif.as_mut(), self.rgba.as_mut()) {
            (DecodedImage::Jfif420 { y, cb, cr, .. }, Some(jfif), _) => {
                if cb.stride != cr.stride {
                    return Err(Error::new(
                        Code::CaptureFailed,
                        format!("frame {frame}: chroma planes differ in stride"),
                    ));
                }
                let planes = Planes { y: y.data, y_stride: y.stride, cb: cb.data, cr: cr.data, c_stride: cb.stride };
                jfif.convert(&planes, &mut buffer).ok_or_else(|| {
                    Error::new(Code::CaptureFailed, format!("frame {frame}: the decoded JPEG planes are too small"))
                })?;
                Ok(Decoded(FrameFormat::Yuv420p, buffer))
            }
            (DecodedImage::Rgba { pixels, .. }, _, Some(c)) => {
                let pixels = pad_black(pixels, self.page, self.size);
                Ok(Decoded(FrameFormat::Yuv420p, c.convert(&pixels).map_err(|e| Error::av(Code::MediaFailed, e))?))
            }
            (DecodedImage::Rgba { pixels, .. }, _, None) => Ok(Decoded(FrameFormat::Rgba, pixels)),
            (DecodedImage::Jfif420 { .. }, _, _) => {
                Err(Error::new(Code::CaptureFailed, format!("frame {frame}: a JPEG capture for an output with alpha")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pad_black;

    #[test]
    fn an_odd_page_is_padded_with_black_at_the_right_and_bottom() {
        let out = pad_black([9u8; 12].to_vec(), (3, 1), (4, 2));
        assert_eq!(out.len(), 4 * 2 * 4);
        assert_eq!(&out[..12], &[9; 12]);
        assert!(out[12..].chunks(4).all(|p| p == [0, 0, 0, 255]));
    }
}
