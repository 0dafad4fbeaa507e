//! `verify` of an animated GIF: its blocks walked (header, screen, extensions, images, trailer),
//! frames counted with their delays and the Netscape loop count read.
//!
//! A GIF has no frame rate, only per-frame delays in centiseconds. libavformat's GIF muxer (ours,
//! and the ffmpeg CLI's that HyperFrames runs) stamps frame `n` at `n` frame times rounded to the
//! nearest centisecond and gives each frame the difference to the next, the last one its
//! predecessor's; against a plan, every delay must be exactly that.

use std::path::Path;

use crate::error::{Code, Error, Result};
use crate::time::{Fps, Rational};

/// What the blocks of a GIF file say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GifInfo {
    /// Logical screen width.
    pub width: u32,
    /// Logical screen height.
    pub height: u32,
    /// The Netscape loop count (0: for ever), if the file has one.
    pub loops: Option<u16>,
    /// Each image's delay in centiseconds (0 when it has no graphic control extension).
    pub delays: Vec<u16>,
    /// Whether the file ends with the trailer byte.
    pub complete: bool,
}

/// Walk the GIF at `file`.
pub fn read(file: &Path) -> Result<GifInfo> {
    let bytes = std::fs::read(file).map_err(|e| Error::io("reading", file, e))?;
    parse(&bytes).map_err(|why| Error::new(Code::CorruptChunk, format!("{}: {why}", file.display())))
}

/// Whether `head` starts like a GIF file.
pub fn is_gif(head: &[u8]) -> bool {
    head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a")
}

/// Parse a whole GIF file's block structure.
pub fn parse(bytes: &[u8]) -> std::result::Result<GifInfo, String> {
    let mut r = Reader { bytes, at: 0 };
    if !is_gif(r.take(6)?) {
        return Err("not a GIF file (no GIF87a/GIF89a header)".into());
    }
    let screen = r.take(7)?;
    let (width, height) = (u32::from(le16(&screen[0..2])), u32::from(le16(&screen[2..4])));
    r.skip_color_table(screen[4])?;
    let mut info = GifInfo { width, height, loops: None, delays: Vec::new(), complete: false };
    let mut delay = 0u16;
    loop {
        match r.byte() {
            Ok(0x21) => {
                let label = r.byte()?;
                let first = r.sub_block()?;
                match label {
                    0xF9 if first.len() >= 3 => delay = le16(&first[1..3]),
                    0xFF if first == b"NETSCAPE2.0" => {
                        let data = r.sub_block()?;
                        if data.len() >= 3 && data[0] == 1 {
                            info.loops = Some(le16(&data[1..3]));
                        }
                    }
                    _ => {}
                }
                r.skip_sub_blocks(!first.is_empty())?;
            }
            Ok(0x2C) => {
                let descriptor = r.take(9)?;
                r.skip_color_table(descriptor[8])?;
                r.take(1)?; // LZW minimum code size
                r.skip_sub_blocks(true)?;
                info.delays.push(std::mem::take(&mut delay));
            }
            Ok(0x3B) => {
                info.complete = true;
                return Ok(info);
            }
            Ok(other) => return Err(format!("unknown block 0x{other:02X} at byte {}", r.at - 1)),
            Err(_) => return Ok(info),
        }
    }
}

/// The delays libavformat's GIF muxer writes for `frames` frames at `fps`: frame `n` at its
/// timestamp in centiseconds rounded to nearest (as `av_rescale_q` rounds it), each delay the
/// step to the next frame, the last one the step before it.
pub fn expected_delays(frames: i64, fps: Fps) -> Vec<u16> {
    let centiseconds = Rational { num: 1, den: 100 };
    let at = |n: i64| fps.frame_to_ts(n, centiseconds);
    let mut delays: Vec<u16> =
        (0..frames.saturating_sub(1)).map(|n| u16::try_from(at(n + 1) - at(n)).unwrap_or(u16::MAX)).collect();
    if frames > 0 {
        delays.push(delays.last().copied().unwrap_or(0));
    }
    delays
}

fn le16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

/// A cursor over the file's bytes; running off the end is an error naming the offset.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("cut short at byte {} (wanted {n} more)", self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn byte(&mut self) -> std::result::Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn sub_block(&mut self) -> std::result::Result<&'a [u8], String> {
        let len = self.byte()?;
        self.take(usize::from(len))
    }

    /// Skip data sub-blocks up to their terminator (`more`: whether any are left to read).
    fn skip_sub_blocks(&mut self, mut more: bool) -> std::result::Result<(), String> {
        while more {
            more = !self.sub_block()?.is_empty();
        }
        Ok(())
    }

    /// Skip the colour table a screen or image descriptor's packed `flags` announce.
    fn skip_color_table(&mut self, flags: u8) -> std::result::Result<(), String> {
        if flags & 0x80 != 0 {
            self.take(3 << ((flags & 0x07) + 1))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fps(num: i64, den: i64) -> Fps {
        Fps::new(num, den).unwrap()
    }

    #[test]
    fn delays_round_frame_times_to_centiseconds() {
        assert_eq!(expected_delays(7, fps(30, 1)), vec![3, 4, 3, 3, 4, 3, 3]);
        assert_eq!(expected_delays(3, fps(25, 1)), vec![4, 4, 4]);
        assert_eq!(expected_delays(4, fps(30000, 1001)), vec![3, 4, 3, 3]);
        assert_eq!(expected_delays(1, fps(30, 1)), vec![0]);
        assert!(expected_delays(0, fps(30, 1)).is_empty());
    }

    #[test]
    fn a_minimal_two_frame_gif_is_walked() {
        let mut g = b"GIF89a".to_vec();
        g.extend([2, 0, 1, 0, 0x80, 0, 0]); // 2x1, global table of 2 entries
        g.extend([0; 6]);
        g.extend([0x21, 0xFF, 11]);
        g.extend(b"NETSCAPE2.0");
        g.extend([3, 1, 0, 0, 0]);
        for delay in [3u8, 4] {
            g.extend([0x21, 0xF9, 4, 0, delay, 0, 0, 0]);
            g.extend([0x2C, 0, 0, 0, 0, 2, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0]);
        }
        g.push(0x3B);
        let info = parse(&g).unwrap();
        assert_eq!((info.width, info.height, info.loops, info.complete), (2, 1, Some(0), true));
        assert_eq!(info.delays, vec![3, 4]);
        assert!(parse(&g[..g.len() - 1]).unwrap().complete.eq(&false));
        assert!(parse(&g[..20]).unwrap_err().contains("cut short"));
        assert!(parse(b"PNG...").unwrap_err().contains("not a GIF"));
    }
}
