//! The page-side runtime: JavaScript embedded in the crate and injected into the page before any
//! page script runs (`Page.addScriptToEvaluateOnNewDocument`).
//!
//! `runtime.js` owns the page's clock, randomness, timelines, clip visibility, animations and
//! video frames; see its header. This module only fills in its configuration.

use serde::Serialize;

use crate::plan::model::ExtractedVideo;
use crate::render::server::VIDEO_FRAMES_PREFIX;
use crate::time::Fps;

const SOURCE: &str = include_str!("runtime.js");
const PLACEHOLDER: &str = "__FRAMEFAN_CONFIG__";

/// What the runtime needs to know about the render.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeConfig<'a> {
    /// Frame-rate numerator.
    pub fps_num: i64,
    /// Frame-rate denominator.
    pub fps_den: i64,
    /// Output width in CSS pixels.
    pub width: u32,
    /// Output height in CSS pixels.
    pub height: u32,
    /// Values for `window.__hfVariables`, over the page's declared defaults.
    pub variables: &'a serde_json::Value,
    /// Pre-extracted `<video>` frames.
    pub videos: &'a [ExtractedVideo],
    /// URL prefix of the served `video-frames/` directory.
    pub video_frames_prefix: &'static str,
}

impl<'a> RuntimeConfig<'a> {
    /// A configuration for `fps` and `width`×`height`.
    pub fn new(
        fps: Fps,
        width: u32,
        height: u32,
        variables: &'a serde_json::Value,
        videos: &'a [ExtractedVideo],
    ) -> Self {
        RuntimeConfig {
            fps_num: fps.num(),
            fps_den: fps.den(),
            width,
            height,
            variables,
            videos,
            video_frames_prefix: VIDEO_FRAMES_PREFIX,
        }
    }
}

/// The script to inject: the runtime with its configuration inlined as a JSON literal.
pub fn script(config: &RuntimeConfig<'_>) -> String {
    // JSON is a JavaScript expression; `<` is escaped so the text can never close a script tag.
    let json = serde_json::to_string(config).unwrap_or_else(|_| "{}".to_string()).replace('<', "\\u003c");
    SOURCE.replacen(PLACEHOLDER, &json, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_inlined_once() {
        let vars = serde_json::json!({"title": "</script>"});
        let fps = Fps::new(30, 1).expect("fps");
        let s = script(&RuntimeConfig::new(fps, 640, 360, &vars, &[]));
        assert!(!s.contains(PLACEHOLDER));
        assert!(s.contains("\"fpsNum\":30"));
        assert!(!s.contains("</script>"));
    }
}
