//! A walk over the top level of a WebM (Matroska) file: where the Cues (the index) are
//! relative to the first Cluster (the media data).
//!
//! EBML elements are an ID (1–4 bytes, its length marked by the first set bit, kept in the ID)
//! and a size (1–8 bytes, marked the same way, the marker bit removed; all ones: unknown).
//! Only element headers are read: the EBML header, then the Segment's children one after the
//! other, skipping their bodies.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};

const SEGMENT: u32 = 0x1853_8067;
const CUES: u32 = 0x1C53_BB6B;
const CLUSTER: u32 = 0x1F43_B675;

/// Where a WebM's index is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CuesPlace {
    /// Whether the Segment holds a Cues element at all.
    pub present: bool,
    /// Whether a Cues element comes before the first Cluster.
    pub before_clusters: bool,
}

/// One element header: its ID, the offset of its body and the body's size (`None`: unknown).
struct Header {
    id: u32,
    body: u64,
    size: Option<u64>,
}

/// Walk `file`'s top level and the Segment's children; a file that is not EBML, or is cut,
/// reports what was seen before the damage.
pub fn cues_place(file: &Path) -> Result<CuesPlace> {
    let mut f = std::fs::File::open(file).map_err(|e| Error::io("opening", file, e))?;
    let len = f.metadata().map_err(|e| Error::io("reading", file, e))?.len();
    let mut place = CuesPlace::default();
    let mut cluster_seen = false;
    let (mut at, mut end) = (0u64, len);
    while at < end {
        let Some(h) = header(&mut f, at, file)? else {
            break;
        };
        let body_end = h.size.map_or(end, |s| h.body.saturating_add(s).min(end));
        match h.id {
            // Step into the Segment: its children are the level that matters.
            SEGMENT => {
                (at, end) = (h.body, body_end);
                continue;
            }
            CUES => {
                place.present = true;
                place.before_clusters |= !cluster_seen;
            }
            CLUSTER => cluster_seen = true,
            _ => {}
        }
        if h.size.is_none() {
            // Only a Segment or a Cluster may have an unknown size; nothing after it can be found.
            break;
        }
        at = body_end;
    }
    Ok(place)
}

/// The element header at `at`, or `None` when the bytes there are not one.
fn header(f: &mut std::fs::File, at: u64, file: &Path) -> Result<Option<Header>> {
    f.seek(SeekFrom::Start(at)).map_err(|e| Error::io("seeking", file, e))?;
    let mut buf = [0u8; 12];
    let got = read_up_to(f, &mut buf).map_err(|e| Error::io("reading", file, e))?;
    let bytes = &buf[..got];
    let Some((id, id_len)) = vint(bytes, 4, true) else {
        return Ok(None);
    };
    let Some((size, size_len)) = vint(&bytes[id_len..], 8, false) else {
        return Ok(None);
    };
    let unknown = size == (1u64 << (7 * size_len)) - 1;
    let body = at + (id_len + size_len) as u64;
    Ok(Some(Header { id: id as u32, body, size: (!unknown).then_some(size) }))
}

/// An EBML variable-length integer of at most `max` bytes at the start of `bytes`: its value
/// (with the length marker kept for IDs, removed for sizes) and its length.
fn vint(bytes: &[u8], max: usize, keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > max || bytes.len() < len {
        return None;
    }
    let mut value = if keep_marker { u64::from(first) } else { u64::from(first) & ((1u64 << (8 - len)) - 1) };
    for b in &bytes[1..len] {
        value = (value << 8) | u64::from(*b);
    }
    Some((value, len))
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_marker_and_sizes_lose_it() {
        assert_eq!(vint(&[0x1A, 0x45, 0xDF, 0xA3], 4, true), Some((0x1A45_DFA3, 4)));
        assert_eq!(vint(&[0x81], 8, false), Some((1, 1)));
        assert_eq!(vint(&[0x40, 0x02], 8, false), Some((2, 2)));
        assert_eq!(vint(&[0x01, 0, 0, 0, 0, 0, 0, 5], 8, false), Some((5, 8)));
        assert_eq!(vint(&[0x00], 8, false), None, "no marker in the first byte");
        assert_eq!(vint(&[0x40], 8, false), None, "cut short");
    }

    fn element(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.push(0x80 | body.len() as u8);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn cues_before_or_after_the_first_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let ebml = element(&[0x1A, 0x45, 0xDF, 0xA3], &[]);
        let cues = element(&[0x1C, 0x53, 0xBB, 0x6B], &[0xEC, 0x80]);
        let cluster = element(&[0x1F, 0x43, 0xB6, 0x75], &[0xE7, 0x81, 0x00]);
        let write = |name: &str, children: &[&Vec<u8>]| {
            let body: Vec<u8> = children.iter().flat_map(|c| c.iter().copied()).collect();
            let path = dir.path().join(name);
            std::fs::write(&path, [ebml.clone(), element(&[0x18, 0x53, 0x80, 0x67], &body)].concat()).unwrap();
            cues_place(&path).unwrap()
        };
        assert_eq!(write("front", &[&cues, &cluster]), CuesPlace { present: true, before_clusters: true });
        assert_eq!(write("back", &[&cluster, &cues]), CuesPlace { present: true, before_clusters: false });
        assert_eq!(write("none", &[&cluster]), CuesPlace::default());
    }
}
