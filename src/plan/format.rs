//! Every output format and what differs between them, in one place.
//!
//! [`OutputFormat::spec`] is the table: for each deliverable, its container, video encoder,
//! pixel format, how the page is captured, whether it keeps alpha and its audio codec. Everything
//! else reads these facts or matches on the small enums below exhaustively, so adding a format
//! is a new [`OutputFormat`] variant and its row here, new variants of the enums it needs, and
//! the encoder wrapper in `av/`; the compiler then points at every `match` that must learn it.
//!
//! The enums that appear in `meta/encoder.json` and `plan.json` are spelled there exactly as
//! [`as_str`](Encoder::as_str) says (the spellings the files have always had, so plans keep their
//! bytes and planHash). Reading an unknown spelling is an error naming the field and the value
//! (`PLAN_INVALID` once wrapped by the plan reader), never a default.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The soundtrack codecs a format's row names; defined beside their encoders, in `audio`.
pub use crate::audio::AudioCodec;

/// An enum written as one of a fixed set of strings: `ALL`, `as_str`, `parse`, `Display`, and
/// serde through the same spellings. `$field` names the value in errors.
macro_rules! spelled {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $field:literal {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling on disk and on the command line.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value spelled `text`, if there is one (exact, case-sensitive).
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            /// Every spelling, comma-separated, for messages.
            pub fn choices() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl Spelled for $name {
            const FIELD: &'static str = $field;
            fn parse(text: &str) -> Option<Self> {
                $name::parse(text)
            }
            fn choices() -> String {
                $name::choices()
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(SpelledVisitor(std::marker::PhantomData))
            }
        }
    };
}

/// What [`SpelledVisitor`] needs of a `spelled!` enum.
trait Spelled: Sized {
    const FIELD: &'static str;
    fn parse(text: &str) -> Option<Self>;
    fn choices() -> String;
}

/// Reads a `spelled!` enum from a string; any other JSON type, or another string, is an error
/// naming the field.
struct SpelledVisitor<T>(std::marker::PhantomData<T>);

impl<T: Spelled> serde::de::Visitor<'_> for SpelledVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as one of {}", T::FIELD, T::choices())
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        T::parse(text).ok_or_else(|| E::custom(unknown(T::FIELD, text, &T::choices())))
    }
}

/// The message for a value that is not one of `choices`; the value is untrusted, so it is
/// quoted and cut short.
pub fn unknown(field: &str, value: &str, choices: &str) -> String {
    let shown: String = value.chars().take(40).collect();
    let more = if shown.len() < value.len() { "…" } else { "" };
    format!("{field} {:?}{more} is not one of {choices}", shown)
}

spelled! {
    /// The deliverable a plan produces (`dimensions.format` in `plan.json`, `--format`).
    pub enum OutputFormat as "format" {
        /// H.264 (or H.265 with `--codec h265`) in MP4.
        Mp4 = "mp4",
        /// ProRes 4444 in QuickTime.
        Mov = "mov",
        /// A directory of RGBA PNG frames.
        PngSequence = "png-sequence",
        /// An animated GIF with one palette for the whole video (chunks are RGBA PNG frames).
        Gif = "gif",
        /// VP9 with alpha and Opus in WebM.
        Webm = "webm",
    }
}

spelled! {
    /// The video encoder of a chunk (`encoder` in `meta/encoder.json`: libav's encoder name).
    pub enum Encoder as "encoder" {
        /// libx264: 8-bit H.264, closed GOPs, state carried from frame to frame.
        Libx264 = "libx264",
        /// FFmpeg's ProRes encoder, 4444 profile with alpha; every frame independent.
        ProresKs = "prores_ks",
        /// FFmpeg's PNG encoder, one file per frame.
        Png = "png",
        /// libvpx's VP9 encoder: closed GOPs without alt-ref frames, alpha as a second stream
        /// carried in each block's BlockAdditional; state carried from frame to frame.
        LibvpxVp9 = "libvpx-vp9",
        /// libx265: 8-bit H.265 (HEVC) tagged `hvc1`, closed GOPs, state carried from frame to
        /// frame; an mp4 plan made with `--codec h265`.
        Libx265 = "libx265",
    }
}

spelled! {
    /// The video codec asked for with `--codec` (`codec` in the plan options): which encoder
    /// makes an mp4. Other formats have one codec each and refuse the option.
    pub enum Codec as "codec" {
        /// H.264 through libx264 (an mp4's default).
        H264 = "h264",
        /// H.265 (HEVC) through libx265.
        H265 = "h265",
    }
}

spelled! {
    /// The pixel format the encoder takes (`pixelFormat` in `meta/encoder.json`: libav's name).
    pub enum PixelFormat as "pixelFormat" {
        /// 8-bit 4:2:0, BT.709 TV range.
        Yuv420p = "yuv420p",
        /// 10-bit 4:4:4 with alpha.
        Yuva444p10le = "yuva444p10le",
        /// 8-bit RGBA, full range sRGB.
        Rgba = "rgba",
        /// 8-bit 4:2:0 with a full-resolution alpha plane, BT.709 TV range.
        Yuva420p = "yuva420p",
    }
}

spelled! {
    /// How the browser's frames are captured (`captureFormat` in `meta/encoder.json`).
    pub enum CaptureFormat as "captureFormat" {
        /// Lossy JPEG at the plan's `jpegQuality`: opaque formats only.
        Jpeg = "jpeg",
        /// Lossless RGBA PNG: formats with alpha, and padded (odd-sized) pages of any format.
        Png = "png",
    }
}

spelled! {
    /// The colour matrix tagged on encoded video (`colorSpace` in `meta/encoder.json`).
    pub enum ColorSpace as "colorSpace" {
        /// ITU-R BT.709.
        Bt709 = "bt709",
    }
}

spelled! {
    /// The colour range tagged on encoded video (`colorRange` in `meta/encoder.json`).
    pub enum ColorRange as "colorRange" {
        /// Limited ("TV", MPEG) range.
        Tv = "tv",
    }
}

/// What a chunk and the assembled output are stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// ISO base media (MP4).
    Mp4,
    /// QuickTime.
    Mov,
    /// A directory of one image file per frame.
    FrameDir,
    /// An animated GIF.
    Gif,
    /// WebM (Matroska's web subset).
    Webm,
}

impl Container {
    /// The libavformat muxer name; `None` for a frame directory.
    pub const fn muxer(self) -> Option<&'static str> {
        match self {
            Container::Mp4 => Some("mp4"),
            Container::Mov => Some("mov"),
            Container::Gif => Some("gif"),
            Container::Webm => Some("webm"),
            Container::FrameDir => None,
        }
    }

    /// The file name extension of a chunk or output, with its dot (`""` for a directory).
    pub const fn extension(self) -> &'static str {
        match self {
            Container::Mp4 => ".mp4",
            Container::Mov => ".mov",
            Container::Gif => ".gif",
            Container::Webm => ".webm",
            Container::FrameDir => "",
        }
    }
}

/// The facts of one output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatSpec {
    /// What chunks are stored in.
    pub container: Container,
    /// What the assembled output is stored in: the chunks' container, except where assemble
    /// makes the output from all frames at once (GIF's whole-video palette).
    pub output: Container,
    /// The chunk encoder by default.
    pub encoder: Encoder,
    /// The other encoders that make this format, chosen with `--codec` (mp4: libx265).
    pub alternatives: &'static [Encoder],
    /// The pixel format the encoder takes.
    pub pixel_format: PixelFormat,
    /// How frames are captured when the page is the output's size (a padded page is always
    /// captured as PNG, so that the padding is exact).
    pub capture: CaptureFormat,
    /// Whether the output keeps the page's alpha: the page is then rendered on a transparent
    /// background.
    pub alpha: bool,
    /// The soundtrack's codec; `None` for a format without sound (a plan's soundtrack is then
    /// left out, with a warning).
    pub audio: Option<AudioCodec>,
    /// How a page with shader transitions (`HyperShader.init`) is drawn in this format.
    pub shaders: ShaderRoute,
}

/// How HyperFrames draws a page's WebGL shader transitions (`@hyperframes/shader-transitions`) in
/// a format, and so how framefan does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaderRoute {
    /// In the page (`outputSupportsPageSideShaderCompositing`: mp4 and gif): the package's own
    /// page-side compositor, switched on before the page's scripts run, drawn into each
    /// screenshot.
    Page,
    /// HyperFrames blends them outside the page in its layered compositor (webm, mov), which
    /// framefan does not have: framefan composites in the page as for [`ShaderRoute::Page`] and
    /// says that the transitions' frames differ from HyperFrames'.
    Layered,
    /// Not at all (png-sequence): the page's own fallback, both scenes shown through each
    /// transition, as HyperFrames renders it.
    Fallback,
}

impl OutputFormat {
    /// The deliverable's file extension with its dot (`.mp4`, `.webm`), empty for a folder of
    /// frames (png-sequence).
    pub fn extension(self) -> &'static str {
        self.spec().output.extension()
    }

    /// This format's facts: the one table to extend with a new format.
    pub(crate) const fn spec(self) -> FormatSpec {
        match self {
            OutputFormat::Mp4 => FormatSpec {
                container: Container::Mp4,
                output: Container::Mp4,
                encoder: Encoder::Libx264,
                alternatives: &[Encoder::Libx265],
                pixel_format: PixelFormat::Yuv420p,
                capture: CaptureFormat::Jpeg,
                alpha: false,
                audio: Some(AudioCodec::Aac),
                shaders: ShaderRoute::Page,
            },
            OutputFormat::Mov => FormatSpec {
                container: Container::Mov,
                output: Container::Mov,
                encoder: Encoder::ProresKs,
                alternatives: &[],
                pixel_format: PixelFormat::Yuva444p10le,
                capture: CaptureFormat::Png,
                alpha: true,
                audio: Some(AudioCodec::Aac),
                shaders: ShaderRoute::Layered,
            },
            OutputFormat::PngSequence => FormatSpec {
                container: Container::FrameDir,
                output: Container::FrameDir,
                encoder: Encoder::Png,
                alternatives: &[],
                pixel_format: PixelFormat::Rgba,
                capture: CaptureFormat::Png,
                alpha: true,
                audio: Some(AudioCodec::Aac),
                shaders: ShaderRoute::Fallback,
            },
            // HyperFrames renders GIFs from RGBA captures (alpha kept as GIF's one transparent
            // index) and drops the soundtrack with a warning.
            OutputFormat::Gif => FormatSpec {
                container: Container::FrameDir,
                output: Container::Gif,
                encoder: Encoder::Png,
                alternatives: &[],
                pixel_format: PixelFormat::Rgba,
                capture: CaptureFormat::Png,
                alpha: true,
                audio: None,
                shaders: ShaderRoute::Page,
            },
            // Always with alpha, as HyperFrames decides it (`outputNeedsAlpha("webm")`): the
            // page is captured on a transparent background and an opaque page simply has an
            // alpha plane of 255.
            OutputFormat::Webm => FormatSpec {
                container: Container::Webm,
                output: Container::Webm,
                encoder: Encoder::LibvpxVp9,
                alternatives: &[],
                pixel_format: PixelFormat::Yuva420p,
                capture: CaptureFormat::Png,
                alpha: true,
                audio: Some(AudioCodec::Opus),
                shaders: ShaderRoute::Layered,
            },
        }
    }

    /// The name libav gives the output's video codec when chunks are made by `encoder` (the
    /// chunks' codec, except for a GIF).
    pub(crate) const fn codec_name(self, encoder: Encoder) -> &'static str {
        match self.spec().output {
            Container::Gif => "gif",
            Container::Mp4 | Container::Mov | Container::Webm | Container::FrameDir => encoder.codec_name(),
        }
    }

    /// The encoder that makes this format with `codec` (`None`: the format's own). A codec is a
    /// choice only where the format has alternatives (mp4); the error says why not.
    pub fn encoder_for(self, codec: Option<Codec>) -> Result<Encoder, String> {
        let spec = self.spec();
        let Some(codec) = codec else { return Ok(spec.encoder) };
        let encoder = codec.encoder();
        match spec.makes(encoder) {
            true => Ok(encoder),
            false if spec.alternatives.is_empty() => {
                Err(format!("codec {codec} applies to mp4 only; format {self} is always {}", spec.encoder))
            }
            false => Err(format!("codec {codec} does not make format {self}")),
        }
    }

    /// The libavformat muxer name of the output, for container formats.
    pub const fn muxer(self) -> Option<&'static str> {
        self.spec().output.muxer()
    }
}

impl Codec {
    /// The encoder of this codec.
    pub const fn encoder(self) -> Encoder {
        match self {
            Codec::H264 => Encoder::Libx264,
            Codec::H265 => Encoder::Libx265,
        }
    }
}

impl Encoder {
    /// Whether x264-style presets (`ultrafast` … `veryslow`) and the quality tier's AQ and
    /// deblocking options apply: libx264 and libx265 share them.
    pub const fn is_x26x(self) -> bool {
        match self {
            Encoder::Libx264 | Encoder::Libx265 => true,
            Encoder::ProresKs | Encoder::Png | Encoder::LibvpxVp9 => false,
        }
    }

    /// Whether rate control (`crf`, `bitrate`) applies.
    pub const fn has_rate_control(self) -> bool {
        match self {
            Encoder::Libx264 | Encoder::Libx265 | Encoder::LibvpxVp9 => true,
            Encoder::ProresKs | Encoder::Png => false,
        }
    }

    /// The name libav gives the codec this encoder writes (what a probe of its output reports).
    pub const fn codec_name(self) -> &'static str {
        match self {
            Encoder::Libx264 => "h264",
            Encoder::ProresKs => "prores",
            Encoder::Png => "png",
            Encoder::LibvpxVp9 => "vp9",
            Encoder::Libx265 => "hevc",
        }
    }
}

impl PixelFormat {
    /// Whether both sides must be even: x264's 4:2:0 (an odd page is padded to even, as
    /// HyperFrames' encoder pads it). VP9 codes odd sizes (its chroma planes round up), so a
    /// yuva420p WebM keeps the page's size, as `hyperframes render --format webm` does.
    pub const fn needs_even_sides(self) -> bool {
        match self {
            PixelFormat::Yuv420p => true,
            PixelFormat::Yuva444p10le | PixelFormat::Rgba | PixelFormat::Yuva420p => false,
        }
    }
}

impl CaptureFormat {
    /// Whether captures keep alpha and every pixel exactly.
    pub const fn is_lossless(self) -> bool {
        match self {
            CaptureFormat::Png => true,
            CaptureFormat::Jpeg => false,
        }
    }
}

/// What `meta/encoder.json` says about the format, checked against the format's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockedFormat {
    /// `encoder`.
    pub encoder: Encoder,
    /// `pixelFormat`.
    pub pixel_format: PixelFormat,
    /// `captureFormat`.
    pub capture: CaptureFormat,
}

impl FormatSpec {
    /// Whether `encoder` makes this format (its own or an alternative).
    pub fn makes(&self, encoder: Encoder) -> bool {
        encoder == self.encoder || self.alternatives.contains(&encoder)
    }

    /// Every encoder that makes this format: its own, then the alternatives.
    pub fn encoders(&self) -> impl Iterator<Item = Encoder> + '_ {
        std::iter::once(self.encoder).chain(self.alternatives.iter().copied())
    }

    /// The names libav gives the codecs of this format's chunks (its encoder's and each
    /// alternative's), for messages and checks of chunks made elsewhere.
    pub fn chunk_codecs(&self) -> Vec<&'static str> {
        self.encoders().map(Encoder::codec_name).collect()
    }

    /// Why `locked` cannot render this format, if it cannot: another encoder or pixel format,
    /// or lossy captures for a format with alpha. Lossless captures always fit (padded pages).
    pub fn mismatch(&self, locked: LockedFormat) -> Option<String> {
        if !self.makes(locked.encoder) {
            let takes = self.encoders().map(Encoder::as_str).collect::<Vec<_>>().join(" or ");
            return Some(format!("encoder {} does not make this format (it takes {takes})", locked.encoder));
        }
        if locked.pixel_format != self.pixel_format {
            return Some(format!(
                "pixelFormat {} is not this format's (it takes {})",
                locked.pixel_format, self.pixel_format
            ));
        }
        if locked.capture != self.capture && !locked.capture.is_lossless() {
            return Some(format!("captureFormat {} would lose this format's alpha", locked.capture));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_through_json() {
        for f in OutputFormat::ALL {
            let json = serde_json::to_string(f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.as_str()));
            assert_eq!(serde_json::from_str::<OutputFormat>(&json).unwrap(), *f);
        }
        for e in Encoder::ALL {
            assert_eq!(serde_json::from_value::<Encoder>(serde_json::json!(e.as_str())).unwrap(), *e);
        }
    }

    #[test]
    fn an_unknown_spelling_names_its_field_and_value() {
        let e = serde_json::from_str::<Encoder>("\"libvpx-vp8\"").unwrap_err().to_string();
        assert!(e.contains("encoder \"libvpx-vp8\" is not one of libx264, prores_ks, png, libvpx-vp9, libx265"), "{e}");
        let e = serde_json::from_str::<PixelFormat>("\"YUV420P\"").unwrap_err().to_string();
        assert!(e.contains("pixelFormat \"YUV420P\" is not one of"), "{e}");
        let long = "x".repeat(500);
        let e = serde_json::from_value::<CaptureFormat>(serde_json::json!(long)).unwrap_err().to_string();
        assert!(e.len() < 200 && e.contains("…"), "{e}");
        let e = serde_json::from_str::<ColorSpace>("1").unwrap_err().to_string();
        assert!(e.contains("expected colorSpace as one of bt709"), "{e}");
    }

    #[test]
    fn formats_with_alpha_capture_losslessly_and_opaque_ones_pad_to_even() {
        for f in OutputFormat::ALL {
            let s = f.spec();
            assert!(!s.alpha || s.capture.is_lossless(), "{f}");
            assert_eq!(s.container.muxer().is_none(), s.container == Container::FrameDir, "{f}");
            assert_eq!(
                s.mismatch(LockedFormat { encoder: s.encoder, pixel_format: s.pixel_format, capture: s.capture }),
                None
            );
        }
        assert!(OutputFormat::Mp4.spec().pixel_format.needs_even_sides());
        assert!(!OutputFormat::Mov.spec().pixel_format.needs_even_sides());
        assert!(!OutputFormat::Webm.spec().pixel_format.needs_even_sides(), "VP9 codes odd sizes");
    }

    #[test]
    fn a_codec_is_a_choice_for_mp4_only() {
        assert_eq!(OutputFormat::Mp4.encoder_for(None), Ok(Encoder::Libx264));
        assert_eq!(OutputFormat::Mp4.encoder_for(Some(Codec::H265)), Ok(Encoder::Libx265));
        assert_eq!(OutputFormat::Webm.encoder_for(None), Ok(Encoder::LibvpxVp9));
        let e = OutputFormat::Webm.encoder_for(Some(Codec::H265)).unwrap_err();
        assert!(e.contains("codec h265 applies to mp4 only; format webm is always libvpx-vp9"), "{e}");
        assert!(OutputFormat::Mov.encoder_for(Some(Codec::H264)).is_err());
        let mp4 = OutputFormat::Mp4.spec();
        let h265 = LockedFormat { encoder: Encoder::Libx265, pixel_format: mp4.pixel_format, capture: mp4.capture };
        assert_eq!(mp4.mismatch(h265), None);
        let e = OutputFormat::Mov.spec().mismatch(h265).unwrap();
        assert!(e.contains("encoder libx265 does not make this format (it takes prores_ks)"), "{e}");
        assert_eq!(OutputFormat::Mp4.codec_name(Encoder::Libx265), "hevc");
        assert_eq!(OutputFormat::Gif.codec_name(Encoder::Png), "gif");
    }

    #[test]
    fn a_locked_config_of_another_format_is_named() {
        let mov = OutputFormat::Mov.spec();
        let mp4 = OutputFormat::Mp4.spec();
        let locked =
            |s: FormatSpec| LockedFormat { encoder: s.encoder, pixel_format: s.pixel_format, capture: s.capture };
        assert!(mp4.mismatch(locked(mov)).unwrap().contains("encoder prores_ks"));
        let jpeg = LockedFormat { capture: CaptureFormat::Jpeg, ..locked(mov) };
        assert!(mov.mismatch(jpeg).unwrap().contains("captureFormat jpeg"));
        let png = LockedFormat { capture: CaptureFormat::Png, ..locked(mp4) };
        assert_eq!(mp4.mismatch(png), None, "a padded mp4 page is captured as PNG");
        let pix = LockedFormat { pixel_format: PixelFormat::Rgba, ..locked(mp4) };
        assert!(mp4.mismatch(pix).unwrap().contains("pixelFormat rgba"));
    }
}
