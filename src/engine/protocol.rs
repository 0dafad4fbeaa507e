//! The page protocol: the one place that names the JavaScript the engine calls in a page, and the
//! typed answers it reads back.
//!
//! The entry points are `page.js`'s `window.__framefan` ([`Call`]), plus two expressions of our
//! own: the watch's heartbeat ([`heartbeat`]) and the WebGL renderer check ([`Call::WebglRenderer`]).
//! Every call but the heartbeat awaits the page's promise and returns its value by value.
//!
//! An answer is read with serde derive and no defaults: a field that is missing or of the wrong
//! type is an error naming the field ([`Malformed`]). `page.js` always answers in full, so a
//! malformed answer means a page script broke the engine layer (replaced `window.__framefan`,
//! say): the caller reports it as `PAGE_SCRIPT_ERROR`, as it reports a page that throws.

use std::fmt;
use std::time::Duration;

use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{DeserializeSeed, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A call into the page's engine layer (or, for the WebGL check, the page itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `__framefan.ready(timeoutMs, graceMs)`: resolves to a [`ReadyAnswer`], never rejects.
    Ready {
        /// The bound on the page becoming ready.
        timeout: Duration,
        /// How long a timeline that never registers is waited for.
        grace: Duration,
    },
    /// `__framefan.seek(frame)`: the runtime (or the page's own `window.__hf`), the virtual
    /// clock and video frames at absolute frame `frame`; rejects with the page's error.
    Seek(i64),
    /// `__framefan.composite()`: the shader transition frame the last seek staged drawn over the
    /// page (after the browser painted the staged scenes); whether one was.
    Composite,
    /// `__framefan.transparent()`: the page's own background removed (outputs with alpha).
    Transparent,
    /// `__framefan.damage()`: a repaint that changes no pixel, so the next frame has damage.
    Damage,
    /// The WebGL renderer the page would get, a string, or `null` without WebGL.
    WebglRenderer,
}

/// The WebGL check: its context is released at once rather than left to the garbage collector.
const WEBGL_RENDERER: &str =
    "(() => { const c = document.createElement('canvas').getContext('webgl'); if (!c) return null; \
                    const e = c.getExtension('WEBGL_debug_renderer_info'); \
                    const r = String(c.getParameter(e ? e.UNMASKED_RENDERER_WEBGL : c.RENDERER)); \
                    const l = c.getExtension('WEBGL_lose_context'); if (l) l.loseContext(); return r; })()";

impl Call {
    /// The JavaScript expression of this call.
    pub fn expression(&self) -> String {
        match self {
            Call::Ready { timeout, grace } => {
                format!("window.__framefan.ready({}, {})", timeout.as_millis(), grace.as_millis())
            }
            Call::Seek(frame) => format!("window.__framefan.seek({frame})"),
            Call::Composite => "window.__framefan.composite()".to_string(),
            Call::Transparent => "window.__framefan.transparent()".to_string(),
            Call::Damage => "window.__framefan.damage()".to_string(),
            Call::WebglRenderer => WEBGL_RENDERER.to_string(),
        }
    }

    /// The evaluation that makes this call: the promise awaited, the value returned by value.
    pub fn params(&self) -> EvaluateParams {
        let mut p = EvaluateParams::new(self.expression());
        p.await_promise = Some(true);
        p.return_by_value = Some(true);
        p
    }
}

/// The watch's heartbeat: a trivial evaluation a page answers unless a script holds its main
/// thread.
pub fn heartbeat() -> EvaluateParams {
    EvaluateParams::new("0")
}

/// What `__framefan.ready` resolved to: ready, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadyAnswer {
    /// The page is ready (`{mode, duration, warnings, brokenFonts, unregistered}`).
    Ready(Ready),
    /// The page did not become ready (`{failure: {kind, message}}`).
    Failed(Failure),
}

impl ReadyAnswer {
    /// The answer in `value` (an evaluation's value): a failure when it has a `failure` field.
    pub fn from_value(value: &Value) -> Result<ReadyAnswer, Malformed> {
        let answer = match value.get("failure") {
            Some(failure) => from_answer(failure).map(ReadyAnswer::Failed).map_err(|e| e.within("failure")),
            None => from_answer(value).map(ReadyAnswer::Ready),
        };
        answer.map_err(|e| e.of("ready"))
    }
}

/// A ready page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ready {
    /// Driven through HyperFrames' runtime or the page's own `window.__hf`.
    pub mode: PageMode,
    /// The composition's duration in seconds as the page reported it when it became ready;
    /// `null` when it is no finite number (a page's own `window.__hf.duration`).
    #[serde(deserialize_with = "required")]
    pub duration: Option<f64>,
    /// What the page said while getting ready (e.g. a timeline that never registered).
    pub warnings: Vec<String>,
    /// The `@font-face` rules that failed to load, each as `family (src …)`.
    pub broken_fonts: Vec<String>,
    /// The compositions whose timeline had not registered.
    pub unregistered: Vec<String>,
}

/// How the page is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageMode {
    /// Through HyperFrames' runtime (`window.__player.renderSeek`).
    Runtime,
    /// Through the page's own `window.__hf = {duration, seek}`.
    Custom,
}

/// Why a page did not become ready.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Failure {
    /// What failed.
    pub kind: FailureKind,
    /// The page's words for it (a script's error, an image's URL, the wait that ran out).
    pub message: String,
}

/// What kind of failure kept a page from becoming ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// A page script threw or did not load.
    Script,
    /// An image of the page failed to load.
    Image,
    /// A bounded wait ran out (the runtime, the document, fonts, an image).
    NotReady,
}

/// An answer that is not what `page.js` answers: which call, and the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(String);

impl Malformed {
    fn within(self, field: &str) -> Malformed {
        Malformed(format!("`{field}`: {}", self.0))
    }

    fn of(self, call: &str) -> Malformed {
        Malformed(format!("the page's answer to {call}() is malformed: {}", self.0))
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A field that must be present, though it may be `null` (serde would default a missing
/// `Option` to `None`).
fn required<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Option::<f64>::deserialize(d)
}

/// `value` as `T` (derived), an error naming the field that is missing or of the wrong type.
fn from_answer<'de, T: Deserialize<'de>>(value: &'de Value) -> Result<T, Malformed> {
    T::deserialize(Named(value)).map_err(|e| Malformed(e.to_string()))
}

/// A JSON value whose object fields prefix their errors with the field's name.
struct Named<'de>(&'de Value);

impl<'de> Deserializer<'de> for Named<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Fields { entries: map.iter(), pending: None }),
            other => other.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// An object's fields, each value's error named by its key.
struct Fields<'de> {
    entries: serde_json::map::Iter<'de>,
    pending: Option<(&'de str, &'de Value)>,
}

impl<'de> MapAccess<'de> for Fields<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else { return Ok(None) };
        self.pending = Some((key.as_str(), value));
        seed.deserialize(BorrowedStrDeserializer::new(key.as_str())).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        let (key, value) = self.pending.take().ok_or_else(|| serde_json::Error::custom("a value before its key"))?;
        seed.deserialize(value).map_err(|e| serde_json::Error::custom(format!("`{key}`: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_are_the_expressions_page_js_defines() {
        let ready = Call::Ready { timeout: Duration::from_secs(20), grace: Duration::from_millis(2500) };
        assert_eq!(ready.expression(), "window.__framefan.ready(20000, 2500)");
        assert_eq!(Call::Seek(-1).expression(), "window.__framefan.seek(-1)");
        assert_eq!(Call::Transparent.expression(), "window.__framefan.transparent()");
        assert_eq!(Call::Damage.expression(), "window.__framefan.damage()");
        assert_eq!(Call::Composite.expression(), "window.__framefan.composite()");
        let p = Call::Seek(3).params();
        assert_eq!((p.await_promise, p.return_by_value), (Some(true), Some(true)));
        let source = include_str!("page.js");
        for name in ["ready", "seek", "composite", "transparent", "damage"] {
            assert!(
                source.contains(&format!("async function {name}(")) || source.contains(&format!("function {name}("))
            );
        }
        assert!(
            source.contains("window.__framefan = { ready, seek, composite, advance, duration, damage, transparent,")
        );
    }

    #[test]
    fn a_ready_answer_reads_in_full() {
        let v =
            json!({"mode": "runtime", "duration": 2.5, "warnings": ["w"], "brokenFonts": [], "unregistered": ["a"]});
        let ReadyAnswer::Ready(r) = ReadyAnswer::from_value(&v).expect("ready") else { panic!("not ready") };
        assert_eq!(
            (r.mode, r.duration, r.warnings, r.unregistered),
            (PageMode::Runtime, Some(2.5), vec!["w".into()], vec!["a".into()])
        );
        let v = json!({"mode": "custom", "duration": null, "warnings": [], "brokenFonts": [], "unregistered": []});
        assert!(matches!(ReadyAnswer::from_value(&v), Ok(ReadyAnswer::Ready(Ready { duration: None, .. }))));
        let v = json!({"failure": {"kind": "not-ready", "message": "m"}});
        let failed = Failure { kind: FailureKind::NotReady, message: "m".into() };
        assert_eq!(ReadyAnswer::from_value(&v), Ok(ReadyAnswer::Failed(failed)));
    }

    #[test]
    fn a_malformed_answer_names_its_field() {
        let full = json!({"mode": "runtime", "duration": 1, "warnings": [], "brokenFonts": [], "unregistered": []});
        for (field, bad) in [("warnings", json!([3])), ("mode", json!("other")), ("duration", json!("1"))] {
            let mut v = full.clone();
            v[field] = bad;
            let e = ReadyAnswer::from_value(&v).expect_err(field).to_string();
            assert!(e.contains(&format!("`{field}`")) && e.contains("ready()"), "{e}");
        }
        for field in ["duration", "brokenFonts", "mode"] {
            let mut v = full.clone();
            v.as_object_mut().expect("object").remove(field);
            let e = ReadyAnswer::from_value(&v).expect_err(field).to_string();
            assert!(e.contains(&format!("`{field}`")), "{e}");
        }
        let e = ReadyAnswer::from_value(&json!({"failure": {"kind": "odd", "message": ""}})).expect_err("kind");
        assert!(e.to_string().contains("`failure`: `kind`"), "{e}");
        assert!(ReadyAnswer::from_value(&Value::Null).is_err());
    }
}
