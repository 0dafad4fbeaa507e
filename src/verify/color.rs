//! The colour tags of an output against the plan's: the matrix and range `meta/encoder.json`
//! locks (`colorSpace`, `colorRange`), and primaries and transfer of the same standard where the
//! encoder writes them (x264, x265 and libvpx do; ProRes in QuickTime leaves them unstated). RGB
//! outputs (a GIF, PNG frames) carry no tags.

use crate::av::probe::ColorTags;
use crate::plan::format::{ColorRange, Encoder};
use crate::plan::model::EncoderConfig;

/// libav's name of a locked range.
fn range_name(range: ColorRange) -> &'static str {
    match range {
        ColorRange::Tv => "tv",
    }
}

/// Whether `encoder`'s output states primaries and transfer (else they read `unknown`).
fn states_primaries(encoder: Encoder) -> bool {
    match encoder {
        Encoder::Libx264 | Encoder::Libx265 | Encoder::LibvpxVp9 => true,
        Encoder::ProresKs | Encoder::Png => false,
    }
}

/// Every colour tag of `tags` that is not what `encoder` makes, in words.
pub fn problems(encoder: &EncoderConfig, tags: &ColorTags) -> Vec<String> {
    if encoder.encoder == Encoder::Png {
        return Vec::new();
    }
    let matrix = encoder.color_space.as_str();
    let mut wanted = vec![("matrix", &tags.matrix, matrix), ("range", &tags.range, range_name(encoder.color_range))];
    if states_primaries(encoder.encoder) {
        wanted.extend([("primaries", &tags.primaries, matrix), ("transfer", &tags.transfer, matrix)]);
    }
    wanted
        .into_iter()
        .filter(|(_, got, want)| got.as_str() != *want)
        .map(|(what, got, want)| format!("colour {what} {got}, the plan's encoder writes {want}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(matrix: &str, range: &str, primaries: &str, transfer: &str) -> ColorTags {
        ColorTags { matrix: matrix.into(), range: range.into(), primaries: primaries.into(), transfer: transfer.into() }
    }

    fn encoder(e: Encoder) -> EncoderConfig {
        let json = format!(
            r#"{{"encoder":"{}","quality":"draft","preset":"","crf":null,"bitrate":null,"gopSize":1,
            "closedGop":true,"pixelFormat":"yuv420p","chunkSize":1,"chunkCount":1,"captureMode":"beginFrame",
            "captureFormat":"png","jpegQuality":90,"deviceScaleFactor":1,"encoderThreads":1,
            "colorSpace":"bt709","colorRange":"tv","variables":{{}}}}"#,
            e.as_str()
        );
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn bt709_tv_passes_and_each_other_tag_is_named() {
        let h265 = encoder(Encoder::Libx265);
        assert!(problems(&h265, &tags("bt709", "tv", "bt709", "bt709")).is_empty());
        assert_eq!(
            problems(&h265, &tags("bt2020nc", "pc", "bt709", "unknown")),
            [
                "colour matrix bt2020nc, the plan's encoder writes bt709",
                "colour range pc, the plan's encoder writes tv",
                "colour transfer unknown, the plan's encoder writes bt709",
            ]
        );
    }

    #[test]
    fn prores_may_leave_primaries_and_transfer_unstated() {
        let prores = encoder(Encoder::ProresKs);
        assert!(problems(&prores, &tags("bt709", "tv", "unknown", "unknown")).is_empty());
        assert_eq!(problems(&prores, &tags("unknown", "tv", "unknown", "unknown")).len(), 1);
        assert!(problems(&encoder(Encoder::Png), &ColorTags::default()).is_empty(), "a GIF has no tags");
    }
}
