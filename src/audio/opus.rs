//! Opus encoding of a fitted soundtrack, streaming, for WebM outputs.
//!
//! One background thread decodes and fits the source and encodes it with one libopus encoder,
//! in order; packets reach the consumer (the muxing thread) through a bounded channel, so memory
//! stays flat. Opus is cheap (hundreds of times real time), so it is not split into segments as
//! AAC is: one continuous encode has no splices to get right.

use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;

use super::encode::EncodeSummary;
use super::fit::{Fitted, PcmSource};
use crate::av::audio::Pcm;
use crate::av::ff;
use crate::av::opus::{OpusEncoder, OPUS_FRAME};
use crate::error::{Code, Error, Result};

/// HyperFrames' WebM audio bitrate (`-c:a libopus -b:a 128k`).
pub const OPUS_BITRATE: usize = 128_000;

/// Encoded frames handed over at once, and how many such batches may wait.
const BATCH_FRAMES: usize = 50;
const BATCHES_IN_FLIGHT: usize = 4;

/// A soundtrack being encoded to Opus in the background; packets come out in order.
pub struct OpusAudio {
    parameters: ff::codec::Parameters,
    pre_skip: i64,
    total: u64,
    batches: Receiver<Result<Vec<ff::Packet>>>,
    current: std::vec::IntoIter<ff::Packet>,
    worker: Option<JoinHandle<Result<u64>>>,
}

fn encode_failed(e: crate::error::AvError) -> Error {
    Error::av(Code::MediaFailed, e)
}

/// Start encoding `source`, fitted to `total` samples, at `bitrate`.
pub fn start<S: PcmSource + Send + 'static>(source: Fitted<S>, total: u64, bitrate: usize) -> Result<OpusAudio> {
    let encoder = OpusEncoder::open(bitrate).map_err(encode_failed)?;
    let parameters = encoder.parameters();
    let pre_skip = encoder.delay();
    let (tx, batches) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
    let worker = std::thread::spawn(move || {
        let outcome = encode_all(source, encoder, &tx);
        if let Err(e) = &outcome {
            // The consumer may have stopped already; then nobody needs the error twice.
            let _ = tx.send(Err(Error::new(e.kind(), e.message())));
        }
        outcome
    });
    Ok(OpusAudio { parameters, pre_skip, total, batches, current: Vec::new().into_iter(), worker: Some(worker) })
}

/// Encode every fitted sample in 960-sample frames; returns the samples the source held.
fn encode_all<S: PcmSource>(
    mut source: Fitted<S>,
    mut encoder: OpusEncoder,
    tx: &mpsc::SyncSender<Result<Vec<ff::Packet>>>,
) -> Result<u64> {
    let mut packets = Vec::new();
    let mut frames = 0;
    loop {
        let mut pcm = Pcm::default();
        let got = source.read_into(&mut pcm, OPUS_FRAME)?;
        if got == 0 {
            break;
        }
        encoder.push(&pcm.left, &pcm.right, &mut packets).map_err(encode_failed)?;
        frames += 1;
        if frames % BATCH_FRAMES == 0 && tx.send(Ok(std::mem::take(&mut packets))).is_err() {
            // The consumer is gone (it failed or stopped): nothing more to do.
            return Ok(source.decoded());
        }
    }
    encoder.finish(&mut packets).map_err(encode_failed)?;
    let _ = tx.send(Ok(packets));
    Ok(source.decoded())
}

impl OpusAudio {
    /// Codec parameters of the encoded stream (OpusHead extradata, pre-skip).
    pub fn parameters(&self) -> ff::codec::Parameters {
        self.parameters.clone()
    }

    /// Samples of pre-skip: packets are stamped from −pre-skip.
    pub fn pre_skip(&self) -> i64 {
        self.pre_skip
    }

    /// Samples in the fitted soundtrack.
    pub fn total_samples(&self) -> u64 {
        self.total
    }

    /// The next packet in timeline order, stamped in 1/48000 (the first at −pre-skip); `None`
    /// at the end.
    pub fn next_packet(&mut self) -> Result<Option<ff::Packet>> {
        loop {
            if let Some(packet) = self.current.next() {
                return Ok(Some(packet));
            }
            match self.batches.recv() {
                Ok(Ok(batch)) => self.current = batch.into_iter(),
                Ok(Err(e)) => return Err(e),
                // The worker finished and every batch was taken.
                Err(_) => return Ok(None),
            }
        }
    }

    /// Wait for the background thread and report what was encoded.
    pub fn finish(mut self) -> Result<EncodeSummary> {
        // Unblock a worker still waiting to hand over a batch nobody will take.
        let worker = self.worker.take();
        drop(std::mem::replace(&mut self.batches, mpsc::sync_channel(0).1));
        let source_samples = match worker.map(JoinHandle::join) {
            Some(Ok(result)) => result?,
            _ => return Err(Error::new(Code::MediaFailed, "opus encoder thread panicked")),
        };
        Ok(EncodeSummary { samples: self.total, source_samples, segments: 1 })
    }
}
