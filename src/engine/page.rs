//! What framefan injects into a page: the engine layer (`page.js`, configured per render) before
//! any page script, and HyperFrames' runtime inlined before `</head>`, as HyperFrames' producer
//! places it (so the page's own head styles and scripts come first, and its body scripts find
//! `window.__hyperframes` and register timelines the runtime then binds).
//!
//! The page's inputs are defined here, below `plan`: the extracted videos it paints
//! ([`ExtractedVideo`], listed by plan in `meta/videos.json`) and their file names
//! ([`VIDEO_FRAME`] for JPEG frames, [`VideoFrameFormat::file_name`] for each format, which plan
//! writes by); `plan` re-exports them where it always had them.

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
    /// Composition frame shown by `frame_00001.<ext>`.
    pub first_frame: i64,
    /// Number of files `frame_00001.<ext> …`.
    pub frame_count: u32,
    /// Decoded width in pixels.
    pub width: u32,
    /// Decoded height in pixels.
    pub height: u32,
    /// The files' image format: written only when it is PNG, so the `meta/videos.json` of a plan
    /// with JPEG frames keeps the bytes it always had.
    #[serde(default, skip_serializing_if = "VideoFrameFormat::is_jpg")]
    pub frame_format: VideoFrameFormat,
}

/// The image format of a clip's extracted frames, chosen per source as HyperFrames'
/// `resolveFrameFormat` chooses it: PNG (with alpha when the source has it) for a source that
/// may carry alpha (VP8, VP9, ProRes, or an alpha pixel format or `alpha_mode` tag), JPEG for the
/// rest. Spelled `jpg` / `png`, as HyperFrames names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoFrameFormat {
    /// Baseline JPEG, full-range BT.601 4:2:0 (no alpha).
    #[default]
    Jpg,
    /// PNG, RGBA when the decoded pictures have alpha, else RGB.
    Png,
}

impl VideoFrameFormat {
    /// How this format's files are named.
    pub fn file_name(self) -> VideoFrameName {
        match self {
            VideoFrameFormat::Jpg => VIDEO_FRAME,
            VideoFrameFormat::Png => VideoFrameName { suffix: ".png", ..VIDEO_FRAME },
        }
    }

    fn is_jpg(&self) -> bool {
        *self == VideoFrameFormat::Jpg
    }
}

/// How an extracted video frame's file is named: `frame_%05d.jpg` (or `.png`, see
/// [`VideoFrameFormat`]), numbered from 1. The page's engine layer gets these three parts, per
/// video, in its configuration rather than spelling them again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VideoFrameName {
    /// Text before the number.
    pub prefix: &'static str,
    /// The number's width, zero-padded.
    pub digits: usize,
    /// Text after the number.
    pub suffix: &'static str,
}

/// `frame_%05d.jpg`, the name of JPEG frames.
pub const VIDEO_FRAME: VideoFrameName = VideoFrameName { prefix: "frame_", digits: 5, suffix: ".jpg" };

impl VideoFrameName {
    /// The file name of frame `n` (1-based).
    pub fn of(&self, n: u64) -> String {
        format!("{}{n:0width$}{}", self.prefix, self.suffix, width = self.digits)
    }
}

const SOURCE: &str = include_str!("page.js");
const PLACEHOLDER: &str = "__FRAMEFAN_CONFIG__";

/// One extracted video as the page gets it: the plan's entry and how its files are named (from
/// its format), so the page does not spell a file name or extension itself.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageVideo<'a> {
    /// The plan's entry, its fields inlined.
    #[serde(flatten)]
    pub video: &'a ExtractedVideo,
    /// `frame_%05d.jpg` or `.png`.
    pub frame_name: VideoFrameName,
}

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
    /// Pre-extracted `<video>` frames, each with the name of its files.
    pub videos: Vec<PageVideo<'a>>,
    /// URL prefix of the served `video-frames/` directory.
    pub video_frames_prefix: &'static str,
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
            videos: videos
                .iter()
                .map(|video| PageVideo { video, frame_name: video.frame_format.file_name() })
                .collect(),
            video_frames_prefix: VIDEO_FRAMES_PREFIX,
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
        // plan writes `frame_%05d.jpg` / `.png` through `VideoFrameFormat::file_name`; the page
        // builds the same names from the copy in each video's configuration, never from a
        // spelling of its own.
        assert!(!SOURCE.contains("/frame_") && !SOURCE.contains(".jpg") && !SOURCE.contains(".png"));
        assert!(!SOURCE.contains("padStart(5"));
        let video = |id: &str, frame_format| ExtractedVideo {
            video_id: id.into(),
            dir: format!("video-frames/{id}"),
            first_frame: 0,
            frame_count: 1,
            width: 2,
            height: 2,
            frame_format,
        };
        let videos = [video("a", VideoFrameFormat::Jpg), video("b", VideoFrameFormat::Png)];
        let vars = serde_json::json!({});
        let s = engine_script(&PageConfig::new(Fps::new(30, 1).expect("fps"), &vars, &videos));
        assert!(s.contains(r#""videoId":"a","#) && s.contains(r#""frameName":{"prefix":"frame_","digits":5,"suffix":".jpg"}"#), "{s}");
        assert!(s.contains(r#""frameFormat":"png","frameName":{"prefix":"frame_","digits":5,"suffix":".png"}"#), "{s}");
        assert_eq!(VideoFrameFormat::Png.file_name().of(12), "frame_00012.png");
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
