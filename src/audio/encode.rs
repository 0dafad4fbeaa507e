//! AAC encoding of a fitted soundtrack as parallel, overlapping segments spliced seamlessly.
//!
//! The native AAC encoder is single-threaded and the long pole of an assemble. The soundtrack
//! is cut into segments of a fixed number of AAC frames, dealt round-robin to a fixed number of
//! lanes (both fixed, so the output bytes do not depend on the machine). Each lane is one
//! encoder that is never restarted, so its rate control stays warm; it encodes each of its
//! segments starting `preroll` frames early and running `postroll` frames late, so that the
//! jump from one of its segments to the next falls in material that is thrown away and at
//! every splice the encoder is in the state a continuous encode would have. Of each segment only
//! the packets whose 1024-sample span lies inside its core are kept; the first segment keeps the
//! encoder's priming packet (at pts −1024), which the MP4 muxer turns into the edit list. Since
//! every core boundary sits on the 1024-sample grid, the kept packets tile the timeline exactly.
//!
//! Threads: one producer decodes and fits the source and hands out segments, `lanes` encoders
//! encode them, and the consumer (the muxing thread) takes packets back in order. At most a few
//! segments are in flight, so memory does not grow with the soundtrack's length.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use super::fit::{Fitted, PcmSource};
use crate::av::audio::{AacEncoder, Pcm, AAC_FRAME};
use crate::av::ff;
use crate::error::{Code, Error, Result};

/// How the soundtrack is cut and encoded.
#[derive(Debug, Clone, Copy)]
pub struct EncodeSettings {
    /// AAC bitrate in bits per second.
    pub bitrate: usize,
    /// Encoder lanes, one thread and one never-restarted encoder each; segment `s` goes to lane
    /// `s mod lanes`. This changes the output bytes, so the default is the same on every
    /// machine.
    pub lanes: usize,
    /// Core length of a segment in AAC frames (this does change the output bytes).
    pub segment_frames: usize,
    /// Frames encoded before a segment's core and thrown away.
    pub preroll: usize,
    /// Frames encoded after a segment's core and thrown away.
    pub postroll: usize,
}

/// Lanes used by default on every machine (not the core count, so bytes stay reproducible).
pub const DEFAULT_LANES: usize = 2;

impl Default for EncodeSettings {
    fn default() -> Self {
        EncodeSettings { bitrate: 192_000, lanes: DEFAULT_LANES, segment_frames: 256, preroll: 3, postroll: 2 }
    }
}

/// What happened to the soundtrack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeSummary {
    /// Samples in the output (the fitted length).
    pub samples: u64,
    /// Samples the source held, up to the point where it was cut.
    pub source_samples: u64,
    /// Segments encoded.
    pub segments: usize,
}

struct Job {
    index: usize,
    input_start: i64,
    pcm: Pcm,
    keep_from: Option<i64>,
    keep_to: Option<i64>,
}

type Done = Result<(usize, Vec<ff::Packet>)>;

/// A soundtrack being encoded in the background; packets come out in order.
pub struct EncodedAudio {
    parameters: ff::codec::Parameters,
    results: Receiver<Done>,
    permits: Receiver<()>,
    reorder: BTreeMap<usize, Vec<ff::Packet>>,
    next: usize,
    current: std::vec::IntoIter<ff::Packet>,
    segments: usize,
    producer: Option<JoinHandle<Result<u64>>>,
    workers: Vec<JoinHandle<()>>,
    total: u64,
}

fn encode_failed(e: crate::error::AvError) -> Error {
    Error::av(Code::MediaFailed, e)
}

/// Start encoding `source`, fitted to `total` samples.
pub fn start<S: PcmSource + Send + 'static>(
    source: Fitted<S>,
    total: u64,
    settings: EncodeSettings,
) -> Result<EncodedAudio> {
    let parameters = AacEncoder::open(settings.bitrate).map_err(encode_failed)?.parameters();
    let span = (settings.segment_frames.max(1) * AAC_FRAME) as u64;
    let segments = total.div_ceil(span).max(1) as usize;
    // One permit per segment handed out and not yet taken back by the consumer: encoders can
    // run ahead of the muxer by at most this many segments, whatever the soundtrack's length.
    let in_flight = settings.lanes.max(1) + 1;
    let (permit_tx, permits) = mpsc::sync_channel::<()>(in_flight);
    let (done_tx, results) = mpsc::channel::<Done>();
    let lanes = settings.lanes.max(1).min(segments);
    let mut job_txs = Vec::with_capacity(lanes);
    let mut workers = Vec::with_capacity(lanes);
    for _ in 0..lanes {
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(1);
        let tx = done_tx.clone();
        workers.push(std::thread::spawn(move || lane(&job_rx, &tx, settings.bitrate)));
        job_txs.push(job_tx);
    }
    let error_tx = done_tx;
    let producer = std::thread::spawn(move || {
        let outcome = produce(source, total, span, segments, settings, &job_txs, &permit_tx);
        if let Err(e) = &outcome {
            let _ = error_tx.send(Err(Error::new(e.kind(), e.message())));
        }
        outcome
    });
    Ok(EncodedAudio {
        parameters,
        results,
        permits,
        reorder: BTreeMap::new(),
        next: 0,
        current: Vec::new().into_iter(),
        segments,
        producer: Some(producer),
        workers,
        total,
    })
}

fn produce<S: PcmSource>(
    mut source: Fitted<S>,
    total: u64,
    span: u64,
    segments: usize,
    s: EncodeSettings,
    lanes: &[SyncSender<Job>],
    permits: &SyncSender<()>,
) -> Result<u64> {
    // A pre-roll longer than a segment would reach back past what the buffer keeps.
    let pre = (s.preroll.min(s.segment_frames.max(1)) * AAC_FRAME) as u64;
    let post = (s.postroll * AAC_FRAME) as u64;
    let mut buffer = Pcm::default();
    let mut buffer_start = 0u64;
    for index in 0..segments {
        if permits.send(()).is_err() {
            break; // The consumer went away; nothing more to do.
        }
        let core = (index as u64 * span, ((index as u64 + 1) * span).min(total));
        let first = index == 0;
        let last = index + 1 == segments;
        let input = (if first { 0 } else { core.0 - pre }, if last { total } else { (core.1 + post).min(total) });
        let have = buffer_start + buffer.len() as u64;
        if input.1 > have {
            let want = (input.1 - have) as usize;
            buffer.left.reserve_exact(want);
            buffer.right.reserve_exact(want);
            source.read_into(&mut buffer, want)?;
        }
        // The buffer holds exactly this segment's input (it starts where the previous segment
        // left its tail, since the pre-roll is never longer than a segment). The next segment's
        // pre-roll starts inside it: carry that tail over and hand the buffer itself to the
        // encoder, with no copy of the segment.
        debug_assert_eq!((buffer_start, buffer.len() as u64), (input.0, input.1 - input.0));
        let keep = core.1 - pre.min(core.1);
        let cut = (keep - buffer_start) as usize;
        let tail = Pcm { left: buffer.left[cut..].to_vec(), right: buffer.right[cut..].to_vec() };
        let mut pcm = std::mem::replace(&mut buffer, tail);
        // Only an encoder's very last frame may be short; a segment cut by the end of the
        // soundtrack that is not the last gets the same zeros the final frame is padded with.
        if !last {
            let padded = pcm.len().next_multiple_of(AAC_FRAME);
            pcm.left.resize(padded, 0.0);
            pcm.right.resize(padded, 0.0);
        }
        buffer_start = keep;
        let job = Job {
            index,
            input_start: input.0 as i64,
            pcm,
            keep_from: (!first).then_some(core.0 as i64),
            keep_to: (!last).then_some(core.1 as i64),
        };
        if lanes[index % lanes.len()].send(job).is_err() {
            break; // The consumer went away; nothing more to do.
        }
    }
    Ok(source.decoded())
}

/// The 1024-sample slot an encoder packet covers: where it sits on the timeline and whether
/// it belongs to a segment's core.
struct Slot {
    pts: i64,
    keep: bool,
}

/// One lane: a single encoder that never restarts and encodes segments `lane, lane + L, …` back
/// to back. The jump between two of its segments falls in the pre-roll, which is thrown away,
/// so the rate control stays warm and every kept packet matches a continuous encode.
fn lane(jobs: &Receiver<Job>, done: &Sender<Done>, bitrate: usize) {
    let mut encoder = match AacEncoder::open(bitrate) {
        Ok(e) => e,
        Err(e) => {
            let _ = done.send(Err(encode_failed(e)));
            return;
        }
    };
    let mut slots = std::collections::VecDeque::new();
    while let Ok(job) = jobs.recv() {
        let index = job.index;
        let result = encode_segment(&mut encoder, &mut slots, job);
        let failed = result.is_err();
        if done.send(result.map(|p| (index, p))).is_err() || failed {
            return;
        }
    }
}

/// Feed `job` to the lane's encoder; the packets of its core come back (the last segment of
/// the soundtrack also flushes the encoder). Packet k of an encoder covers the slot of its
/// input frame k − 1; slot −1 is the priming, kept only at the very start of the timeline.
fn encode_segment(
    encoder: &mut AacEncoder,
    slots: &mut std::collections::VecDeque<Slot>,
    job: Job,
) -> Result<Vec<ff::Packet>> {
    let keeps = |pts: i64| job.keep_from.is_none_or(|f| pts >= f) && job.keep_to.is_none_or(|t| pts < t);
    if encoder.frames_sent() == 0 {
        slots.push_back(Slot { pts: job.input_start - AAC_FRAME as i64, keep: job.keep_from.is_none() });
    }
    let mut packets = Vec::new();
    let n = job.pcm.len();
    for start in (0..n).step_by(AAC_FRAME) {
        let end = (start + AAC_FRAME).min(n);
        let pts = job.input_start + start as i64;
        slots.push_back(Slot { pts, keep: keeps(pts) });
        encoder.push(&job.pcm.left[start..end], &job.pcm.right[start..end], &mut packets).map_err(encode_failed)?;
    }
    if job.keep_to.is_none() {
        encoder.finish(&mut packets).map_err(encode_failed)?;
    }
    let mut kept = Vec::with_capacity(packets.len());
    for mut packet in packets {
        let slot = slots
            .pop_front()
            .ok_or_else(|| Error::new(Code::MediaFailed, "AAC encoder emitted more packets than frames"))?;
        if slot.keep {
            packet.set_pts(Some(slot.pts));
            packet.set_dts(Some(slot.pts));
            kept.push(packet);
        }
    }
    Ok(kept)
}

impl EncodedAudio {
    /// Codec parameters of the encoded stream (including extradata and encoder delay).
    pub fn parameters(&self) -> ff::codec::Parameters {
        self.parameters.clone()
    }

    /// Samples in the fitted soundtrack.
    pub fn total_samples(&self) -> u64 {
        self.total
    }

    /// The next packet in timeline order, stamped in 1/48000 (the first at −1024); `None` at end.
    pub fn next_packet(&mut self) -> Result<Option<ff::Packet>> {
        loop {
            if let Some(packet) = self.current.next() {
                return Ok(Some(packet));
            }
            if self.next == self.segments {
                return Ok(None);
            }
            if let Some(packets) = self.reorder.remove(&self.next) {
                self.next += 1;
                // Give the producer room for one more segment. The producer may already have
                // finished, so a closed channel is fine.
                let _ = self.permits.try_recv();
                self.current = packets.into_iter();
                continue;
            }
            match self.results.recv() {
                Ok(Ok((index, packets))) => {
                    self.reorder.insert(index, packets);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(Error::new(Code::MediaFailed, "audio encoder threads stopped early")),
            }
        }
    }

    /// Wait for the background threads and report what was encoded.
    pub fn finish(mut self) -> Result<EncodeSummary> {
        let producer = self.producer.take().map(|h| h.join());
        for worker in std::mem::take(&mut self.workers) {
            let _ = worker.join();
        }
        let source_samples = match producer {
            Some(Ok(result)) => result?,
            _ => return Err(Error::new(Code::MediaFailed, "audio decoder thread panicked")),
        };
        Ok(EncodeSummary { samples: self.total, source_samples, segments: self.segments })
    }
}
