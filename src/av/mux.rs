//! Writing packets into an MP4 / MOV / WebM file with libavformat.
//!
//! A [`Muxer`] owns the output context; [`Muxer::finish`] writes the trailer and closes the file,
//! reporting errors from both (a `Drop` without `finish` closes the file but the caller is then
//! expected to delete it, as staging files are).

use std::path::{Path, PathBuf};

use super::{check, ff, Context as _};
use crate::error::AvError;
use crate::time::Rational;

/// An output media file being written.
pub struct Muxer {
    output: ff::format::context::Output,
    path: PathBuf,
}

/// How to describe a new output stream.
pub struct StreamSpec {
    /// Codec parameters, copied from an input stream or an opened encoder.
    pub parameters: ff::codec::Parameters,
    /// The time base packets will be given in (the muxer may pick another; see
    /// [`Muxer::time_base`]).
    pub time_base: Rational,
    /// The stream's frame rate, for video.
    pub frame_rate: Option<Rational>,
}

fn ff_rational(r: Rational) -> ff::Rational {
    ff::Rational(r.num as i32, r.den as i32)
}

impl Muxer {
    /// Create `path` as a file of container `format` (`"mp4"`, `"mov"`).
    pub fn create(path: &Path, format: &str) -> Result<Self, AvError> {
        super::init();
        let output = ff::format::output_as(&path, format).ctx("avformat_alloc_output_context2", &path.display())?;
        Ok(Muxer { output, path: path.to_path_buf() })
    }

    /// Add a stream; returns its index.
    pub fn add_stream(&mut self, spec: StreamSpec) -> Result<usize, AvError> {
        let shown = self.path.display();
        let mut stream =
            self.output.add_stream(ff::encoder::find(ff::codec::Id::None)).ctx("avformat_new_stream", &shown)?;
        stream.set_parameters(spec.parameters);
        stream.set_time_base(ff_rational(spec.time_base));
        if let Some(rate) = spec.frame_rate {
            stream.set_rate(ff_rational(rate));
            stream.set_avg_frame_rate(ff_rational(rate));
        }
        Ok(stream.index())
    }

    /// Tag stream `index` with `key` = `value` (before the header; e.g. WebM's `alpha_mode`).
    pub fn set_stream_metadata(&mut self, index: usize, key: &str, value: &str) -> Result<(), AvError> {
        let shown = self.path.display();
        let mut stream = self.output.stream_mut(index).ok_or_else(|| AvError {
            op: "av_dict_set",
            subject: shown.to_string(),
            code: ff::ffi::AVERROR_STREAM_NOT_FOUND,
            message: format!("no stream {index} to tag {key}"),
        })?;
        let mut dict = ff::Dictionary::new();
        dict.set(key, value);
        stream.set_metadata(dict);
        Ok(())
    }

    /// Write the header with muxer options (e.g. `moov_size`, `movflags`). Unknown options are
    /// an error rather than silently ignored.
    pub fn write_header(&mut self, options: &[(&str, String)]) -> Result<(), AvError> {
        let mut dict = ff::Dictionary::new();
        for (k, v) in options {
            dict.set(k, v);
        }
        let shown = self.path.display();
        // Bit-exact output: no libavformat version string in the file, so the bytes depend only
        // on the inputs and the libav version the plan pins.
        // SAFETY: plain flag field of the live format context.
        unsafe { (*self.output.as_mut_ptr()).flags |= ff::ffi::AVFMT_FLAG_BITEXACT };
        let left = self.output.write_header_with(dict).ctx("avformat_write_header", &shown)?;
        if let Some((key, _)) = left.iter().next() {
            return Err(AvError {
                op: "avformat_write_header",
                subject: shown.to_string(),
                code: ff::ffi::AVERROR_OPTION_NOT_FOUND,
                message: format!("muxer option {key} not recognised"),
            });
        }
        Ok(())
    }

    /// The time base of stream `index` as the muxer settled it (valid after the header).
    pub fn time_base(&self, index: usize) -> Rational {
        let tb = self.output.stream(index).map(|s| s.time_base()).unwrap_or(ff::Rational(1, 1));
        Rational { num: tb.0 as i64, den: tb.1 as i64 }
    }

    /// Write one packet, already stamped in the stream's muxer time base, in the order given.
    pub fn write(&mut self, packet: &ff::Packet) -> Result<(), AvError> {
        packet.write(&mut self.output).map(|_| ()).ctx("av_write_frame", &self.path.display())
    }

    /// Write one packet through libavformat's interleaving queue.
    pub fn write_interleaved(&mut self, packet: &ff::Packet) -> Result<(), AvError> {
        packet.write_interleaved(&mut self.output).ctx("av_interleaved_write_frame", &self.path.display())
    }

    /// Write the trailer, flush and close the file, reporting any error on the way.
    pub fn finish(mut self) -> Result<(), AvError> {
        let shown = self.path.display().to_string();
        self.output.write_trailer().ctx("av_write_trailer", &shown)?;
        // SAFETY: pb is the AVIOContext libavformat opened for this file (or null); flushing it
        // and reading its sticky error field is all we do before closing.
        let flushed = unsafe {
            let pb = (*self.output.as_mut_ptr()).pb;
            if pb.is_null() {
                0
            } else {
                ff::ffi::avio_flush(pb);
                (*pb).error
            }
        };
        check(flushed, "avio_flush", &shown)?;
        // SAFETY: avio_closep closes and nulls pb, so the context's destructor will not close it
        // a second time.
        let ret = unsafe { ff::ffi::avio_closep(&mut (*self.output.as_mut_ptr()).pb) };
        check(ret, "avio_closep", &shown)?;
        Ok(())
    }
}
