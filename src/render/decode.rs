//! The decode stage of a chunk: captures put back in frame order, decoded, and turned into what
//! the encoder takes — yuv420p for H.264 chunks (a JFIF 4:2:0 JPEG converted directly from the
//! decoder's planes, anything else through RGBA), RGBA otherwise.
//!
//! A capture equal to its browser's previous one ([`Shot::same_as`]: a held frame) is not
//! decoded again: the picture decoded for that earlier frame goes to the encoder once more,
//! shared, so a held frame costs no base64, JPEG/PNG decode or colour conversion. The decoder keeps the last `browsers` pictures for that (browser `i` of a chunk
//! captures every `browsers`-th frame); a reference it no longer holds (a browser's previous
//! frame in an earlier chunk) is decoded from the bytes that come with it, which are the same.
//!
//! Output buffers come back from the encoder once it has copied them, so a chunk allocates a
//! handful of frame buffers in all rather than one per frame.

use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use base64::Engine as _;

use super::color::{Jfif420ToBt709, Planes};
use crate::av::image::{DecodedImage, ImageCodec, ImageDecoder};
use crate::av::video::{FrameFormat, Yuv420Converter};
use crate::engine::capture::Shot;
use crate::error::{Code, Error, Result};

/// A captured frame: its absolute index and the browser's capture.
pub(super) struct Captured {
    pub frame: i64,
    pub shot: Shot,
}

/// A decoded picture, shared between the encoder and the decoder's recent pictures (a frame
/// that did not change is the same buffer again).
pub(super) type Pixels = Arc<Vec<u8>>;

/// A decoded frame on its way to the encoder.
#[derive(Clone)]
pub(super) struct Decoded(pub FrameFormat, pub Pixels);

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
    /// Browsers capturing the chunk: how many recent pictures an unchanged capture may refer to.
    pub browsers: usize,
    /// Set when the chunk will not be published: the frames still queued are dropped.
    pub halt: super::halt::Halt,
}

/// Decode captures as they arrive, in frame order, until the capture side closes its channel.
/// Returns how many frames reused an earlier picture.
pub(super) fn decode_loop(
    mut rx: tokio::sync::mpsc::Receiver<Captured>,
    tx: SyncSender<Decoded>,
    recycled: Receiver<Pixels>,
    spec: DecodeSpec,
) -> Result<u64> {
    let mut dec = FrameDecoder::open(&spec)?;
    let mut pending: BTreeMap<i64, Shot> = BTreeMap::new();
    let mut recent = Recent::new(spec.browsers);
    let mut want = spec.first;
    while let Some(c) = rx.blocking_recv() {
        if spec.halt.is_set() {
            return Ok(recent.reused);
        }
        pending.insert(c.frame, c.shot);
        while let Some(shot) = pending.remove(&want) {
            recent.take_back(&recycled);
            let frame = match recent.reuse(shot.same_as) {
                Some(frame) => frame,
                None => dec.decode(&shot.data, want, recent.spare())?,
            };
            recent.keep(want, frame.clone());
            if tx.send(frame).is_err() {
                return Ok(recent.reused);
            }
            want += 1;
        }
    }
    Ok(recent.reused)
}

/// The last few decoded pictures, for captures that refer to them, and the buffers free for the
/// next decode.
struct Recent {
    frames: VecDeque<(i64, Decoded)>,
    window: usize,
    spare: Vec<Vec<u8>>,
    reused: u64,
}

impl Recent {
    fn new(window: usize) -> Recent {
        let window = window.max(1);
        Recent { frames: VecDeque::with_capacity(window + 1), window, spare: Vec::new(), reused: 0 }
    }

    /// The picture of frame `of`, when the capture is unchanged since it and it is still held.
    fn reuse(&mut self, of: Option<i64>) -> Option<Decoded> {
        let of = of?;
        let (_, frame) = self.frames.iter().find(|(f, _)| *f == of)?;
        self.reused += 1;
        Some(frame.clone())
    }

    /// Hold `frame`'s picture; the oldest one leaves (its buffer is spare once no one else
    /// holds it).
    fn keep(&mut self, frame: i64, decoded: Decoded) {
        self.frames.push_back((frame, decoded));
        if self.frames.len() > self.window {
            if let Some((_, Decoded(_, pixels))) = self.frames.pop_front() {
                self.free(pixels);
            }
        }
    }

    /// Buffers the encoder is done with (each one free once its last holder lets go).
    fn take_back(&mut self, recycled: &Receiver<Pixels>) {
        while let Ok(pixels) = recycled.try_recv() {
            self.free(pixels);
        }
    }

    fn free(&mut self, pixels: Pixels) {
        if let Ok(buffer) = Arc::try_unwrap(pixels) {
            self.spare.push(buffer);
        }
    }

    fn spare(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }
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
    /// The capture's bytes, one buffer for every frame (a fresh ~0.5 MB allocation per frame
    /// costs page faults).
    bytes: Vec<u8>,
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
        Ok(FrameDecoder { images, bytes: Vec::new(), size: (w, h), page: spec.page, jfif, rgba })
    }

    /// Decode capture `b64` of `frame`, into `buffer` where the conversion allows.
    fn decode(&mut self, b64: &str, frame: i64, buffer: Vec<u8>) -> Result<Decoded> {
        let (format, pixels) = self.decode_into(b64, frame, buffer)?;
        Ok(Decoded(format, Arc::new(pixels)))
    }

    fn decode_into(&mut self, b64: &str, frame: i64, mut buffer: Vec<u8>) -> Result<(FrameFormat, Vec<u8>)> {
        self.bytes.clear();
        base64::engine::general_purpose::STANDARD
            .decode_vec(b64, &mut self.bytes)
            .map_err(|e| Error::new(Code::CaptureFailed, format!("frame {frame}: screenshot is not base64: {e}")))?;
        let failed = |e| Error::av(Code::CaptureFailed, e).prefixed(&format!("decoding captured frame {frame}"));
        let image = self.images.decode_into(&self.bytes, &mut buffer).map_err(failed)?;
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
                Ok((FrameFormat::Yuv420p, buffer))
            }
            (DecodedImage::Rgba { pixels, .. }, _, Some(c)) => {
                let pixels = pad_black(pixels, self.page, self.size);
                Ok((FrameFormat::Yuv420p, c.convert(&pixels).map_err(|e| Error::av(Code::MediaFailed, e))?))
            }
            (DecodedImage::Rgba { pixels, .. }, _, None) => Ok((FrameFormat::Rgba, pixels)),
            (DecodedImage::Jfif420 { .. }, _, _) => {
                Err(Error::new(Code::CaptureFailed, format!("frame {frame}: a JPEG capture for an output with alpha")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(byte: u8) -> Decoded {
        Decoded(FrameFormat::Yuv420p, Arc::new(vec![byte; 6]))
    }

    #[test]
    fn only_the_last_browsers_pictures_are_reused_and_buffers_come_back_once_free() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut recent = Recent::new(2);
        recent.keep(10, picture(1));
        recent.keep(11, picture(2));
        // Frame 12 is unchanged since its browser's frame 10 (two browsers).
        let again = recent.reuse(Some(10)).unwrap();
        assert_eq!(*again.1, vec![1; 6]);
        assert!(recent.reuse(None).is_none());
        recent.keep(12, again.clone());
        // Frame 10 left the window: a reference to it is decoded from its bytes instead.
        assert!(recent.reuse(Some(10)).is_none());
        assert_eq!(recent.reused, 1);
        // Frame 12's buffer is still held by the window (as frame 12) and by the encoder.
        tx.send(again.1).unwrap();
        recent.take_back(&rx);
        assert!(recent.spare.is_empty());
        recent.keep(13, picture(3));
        recent.keep(14, picture(4));
        // Frames 11 and 12 left; 12's buffer is free now, 11's was free at once.
        assert_eq!(recent.spare.len(), 2);
    }

    #[test]
    fn an_odd_page_is_padded_with_black_at_the_right_and_bottom() {
        let out = pad_black([9u8; 12].to_vec(), (3, 1), (4, 2));
        assert_eq!(out.len(), 4 * 2 * 4);
        assert_eq!(&out[..12], &[9; 12]);
        assert!(out[12..].chunks(4).all(|p| p == [0, 0, 0, 255]));
    }
}
