//! What framefan injects into a page: the engine layer (`page.js`, configured per render) before
//! any page script, and HyperFrames' runtime inlined before `</head>`, as HyperFrames' producer
//! places it (so the page's own head styles and scripts come first, and its body scripts find
//! `window.__hyperframes` and register timelines the runtime then binds).
//!
//! The page's inputs are defined here, below `plan`: the extracted videos it paints
//! ([`ExtractedVideo`], listed by plan in `meta/videos.json`) and their file names
//! ([`VIDEO_FRAME`], which plan writes by); `plan` re-exports them where it always had them.

use serde::{Deserialize, Serialize};

use crate::time::Fps;

use super::server::VIDEO_FRAMES_PREFIX;

/// One `<video>` clip's pre-extracted frames, as listed in `meta/videos.json` `extracted`.
///
/// Frame `k` (1-based) of `dir` is what the clip shows at composition frame `first_frame + k − 1`;
/// before `first_frame` the clip is not shown, after the last file the last frame is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractedVideo {
    /// The `<video>` element's id.
    pub video_id: String,
    /// Directory relative to the plan, `video-frames/<id>`.
    pub dir: String,
    /// Composition frame shown by `frame_00001.jpg`.
    pub first_frame: i64,
    /// Number of files `frame_00001.jpg …`.
    pub frame_count: u32,
    /// Decoded width in pixels.
    pub width: u32,
    /// Decoded height in pixels.
    pub height: u32,
}

/// How an extracted video frame's file is named: `frame_%05d.jpg`, numbered from 1. The page's
/// engine layer gets these three parts in its configuration rather than spelling them again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VideoFrameName {
    /// Text before the number.
    pub prefix: &'static str,
    /// The number's width, zero-padded.
    pub digits: usize,
    /// Text after the number.
    pub suffix: &'static str,
}

/// `frame_%05d.jpg`.
pub const VIDEO_FRAME: VideoFrameName = VideoFrameName { prefix: "frame_", digits: 5, suffix: ".jpg" };

impl VideoFrameName {
    /// The file name of frame `n` (1-based).
    pub fn of(&self, n: u64) -> String {
        format!("{}{n:0width$}{}", self.prefix, self.suffix, width = self.digits)
    }
}

const SOURCE: &str = include_str!("page.js");
const PLACEHOLDER: &str = "__FRAMEFAN_CONFIG__";

/// What the engine layer needs to know about the render.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageConfig<'a> {
    /// Frame-rate numerator.
    pub fps_num: i64,
    /// Frame-rate denominator.
    pub fps_den: i64,
    /// Variable overrides (`window.__hfVariables`); the runtime merges them over the page's
    /// declared defaults.
    pub variables: &'a serde_json::Value,
    /// Pre-extracted `<video>` frames.
    pub videos: &'a [ExtractedVideo],
    /// URL prefix of the served `video-frames/` directory.
    pub video_frames_prefix: &'static str,
    /// How plan names each extracted frame's file, so the page does not spell it again.
    pub video_frame: VideoFrameName,
    /// The page's shader transitions are composited in the page (HyperFrames'
    /// `__HF_PAGE_SIDE_COMPOSITING__`, set before any page script runs).
    pub page_side_compositing: bool,
}

impl<'a> PageConfig<'a> {
    /// A configuration for `fps`.
    pub fn new(fps: Fps, variables: &'a serde_json::Value, videos: &'a [ExtractedVideo]) -> Self {
        PageConfig {
            fps_num: fps.num(),
            fps_den: fps.den(),
            variables,
            videos,
            video_frames_prefix: VIDEO_FRAMES_PREFIX,
            video_frame: VIDEO_FRAME,
            page_side_compositing: false,
        }
    }
}

/// The engine layer with its configuration inlined as a JSON literal.
pub fn engine_script(config: &PageConfig<'_>) -> String {
    // JSON is a JavaScript expression; `<` is escaped so the text can never close a script tag.
    let json = serde_json::to_string(config).unwrap_or_else(|_| "{}".to_string()).replace('<', "\\u003c");
    SOURCE.replacen(PLACEHOLDER, &json, 1)
}

/// The page as the file server serves it: `html` with `runtime` inlined (see [`with_runtime`])
/// when there is one.
pub fn served_html(html: String, runtime: Option<&str>) -> String {
    match runtime {
        Some(rt) => with_runtime(&html, rt),
        None => html,
    }
}

/// `html` with `runtime` inlined in a `<script>` before `</head>` (else before `<body`, else at
/// the start). `runtime` never contains `</script` (checked when it is loaded).
pub fn with_runtime(html: &str, runtime: &str) -> String {
    let tag = format!("<script data-framefan-runtime>{runtime}</script>\n");
    let lower = html.to_ascii_lowercase();
    let at = lower.find("</head").or_else(|| lower.find("<body")).unwrap_or(0);
    let mut out = String::with_capacity(html.len() + tag.len());
    out.push_str(&html[..at]);
    out.push_str(&tag);
    out.push_str(&html[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_video_frames_as_plan_writes_them() {
        // plan writes `frame_%05d.jpg` through `layout::VIDEO_FRAME`; the page builds the same
        // names from the copy in its configuration, never from a spelling of its own.
        assert!(!SOURCE.contains("/frame_") && !SOURCE.contains(".jpg") && !SOURCE.contains("padStart(5"));
        let vars = serde_json::json!({});
        let s = engine_script(&PageConfig::new(Fps::new(30, 1).expect("fps"), &vars, &[]));
        assert!(s.contains(r#""videoFrame":{"prefix":"frame_","digits":5,"suffix":".jpg"}"#), "{s}");
    }

    #[test]
    fn config_is_inlined_once() {
        let vars = serde_json::json!({"title": "</script>"});
        let fps = Fps::new(30, 1).expect("fps");
        let s = engine_script(&PageConfig::new(fps, &vars, &[]));
        assert!(!s.contains(PLACEHOLDER));
        assert!(s.contains("\"fpsNum\":30"));
        assert!(!s.contains("</script>"));
    }

    #[test]
    fn the_runtime_goes_before_the_end_of_head() {
        let html = "<html><HEAD><style>x{}</style></HEAD><body><p>hi</p></body></html>";
        let out = with_runtime(html, "R()");
        assert_eq!(out, "<html><HEAD><style>x{}</style><script data-framefan-runtime>R()</script>\n</HEAD><body><p>hi</p></body></html>");
        assert!(with_runtime("<body>b</body>", "R()").starts_with("<script data-framefan-runtime>R()</script>\n<body>"));
    }
}
