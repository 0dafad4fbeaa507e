//! Running HyperFrames' audio-effects runtime in a headless browser, as its renderer does
//! (`applyAudioFxChain`): one browser per mix, a new tab per rendered track on a `file://` host
//! page (an AudioWorklet needs a secure context), the runtime injected as a `<script>`, the
//! samples sent as base64 chunks of float32 planes into `window.__HF_FX_IO.in`, then
//! `__HF_AUDIO_FX.render(planes, 48000, chain, automation, elapsed)` (an `OfflineAudioContext`
//! over the whole track and its tail) and the planes read back the same way.
//!
//! The DSP is Chromium's own Web Audio (biquads, convolver, worklets), so the samples depend on
//! the browser build as HyperFrames' do; framefan adds nothing between the samples and the page.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::Page;

use super::browser::{BrowserBinary, LaunchOptions, Session};
use crate::control::Control;
use crate::error::{Code, Error, Result};

/// Bytes of one plane sent or read per DevTools call.
const TRANSFER_BYTES: usize = 4 << 20;

/// How long one track's render may take.
const RENDER_TIMEOUT: Duration = Duration::from_secs(600);

/// The host page HyperFrames writes.
const HOST_PAGE: &str = "<!doctype html><meta charset=utf-8><title>audio fx</title>";

/// A browser ready to render effect chains; closed (process group killed, profile and host page
/// removed) by [`FxBrowser::close`] or on drop.
pub struct FxBrowser {
    rt: tokio::runtime::Runtime,
    session: Option<Session>,
    scratch: PathBuf,
    host_url: String,
    runtime: &'static str,
    control: Control,
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(Code::MediaFailed, format!("audio effects: {what}: {e}"))
}

impl FxBrowser {
    /// Launch the browser (framefan's usual launch) and write the host page. Cancelling
    /// `control` ends the launch, or a later render, with `CANCELLED`.
    pub fn launch(control: &Control) -> Result<FxBrowser> {
        let runtime = crate::runtime::audio_fx::script()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::new(Code::Io, format!("starting the async runtime: {e}")))?;
        let scratch = std::env::temp_dir().join(format!(".framefan-audio-fx.{}", crate::publish::unique_suffix()));
        std::fs::create_dir_all(&scratch).map_err(|e| Error::io("creating", &scratch, e))?;
        let host = scratch.join("audio-fx.html");
        let mut this =
            FxBrowser { rt, session: None, scratch, host_url: String::new(), runtime, control: control.clone() };
        std::fs::write(&host, HOST_PAGE).map_err(|e| Error::io("writing", &host, e))?;
        this.host_url = url::Url::from_file_path(&host).map_err(|()| failed("host page URL", host.display()))?.into();
        let opts = LaunchOptions {
            binary: BrowserBinary::find(None)?,
            width: 64,
            height: 64,
            scratch: this.scratch.clone(),
            server_port: 0,
            draw_element: false,
        };
        this.session = Some(this.rt.block_on(Session::launch(&opts, control))?);
        Ok(this)
    }

    /// Render `planes` (48 kHz float, one per channel) through `chain` with `automation` (its
    /// lanes' clock starts at the first sample). Returns the runtime's planes: the input's
    /// length plus the chain's tail.
    pub fn render(&mut self, planes: &[&[f32]], chain: &str, automation: Option<&str>) -> Result<Vec<Vec<f32>>> {
        self.render_at(planes, chain, automation, 0.0)
    }

    /// [`FxBrowser::render`] of planes that start `elapsed` seconds into their track (a segment
    /// of a long one): the runtime starts its oscillators (chorus, phaser) at that phase.
    pub fn render_at(
        &mut self,
        planes: &[&[f32]],
        chain: &str,
        automation: Option<&str>,
        elapsed: f64,
    ) -> Result<Vec<Vec<f32>>> {
        let session = self.session.as_ref().ok_or_else(|| failed("browser", "closed"))?;
        let (url, script) = (self.host_url.clone(), self.runtime);
        let job = async {
            let page = session.open_tab(&url).await?;
            let out = render_in(&page, script, planes, chain, automation, elapsed).await;
            let _closed = page.close().await;
            out
        };
        let control = &self.control;
        let timed = async { Ok(tokio::time::timeout(RENDER_TIMEOUT, job).await) };
        self.rt.block_on(control.race(timed))?.map_err(|e| failed("render", e))?
    }

    /// End the browser and remove its files.
    #[cfg(feature = "internals")]
    pub fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        if let Some(session) = self.session.take() {
            self.rt.block_on(session.close());
        }
        let _removed = std::fs::remove_dir_all(&self.scratch);
    }
}

impl Drop for FxBrowser {
    fn drop(&mut self) {
        self.shut();
    }
}

async fn render_in(
    page: &Page,
    script: &str,
    planes: &[&[f32]],
    chain: &str,
    automation: Option<&str>,
    elapsed: f64,
) -> Result<Vec<Vec<f32>>> {
    let inject = format!(
        "(() => {{ const s = document.createElement('script'); s.text = {}; document.head.appendChild(s); \
         window.__HF_FX_IO = {{ in: Array.from({{ length: {} }}, () => []), out: [] }}; }})()",
        json(script),
        planes.len()
    );
    eval(page, &inject).await?;
    for (p, plane) in planes.iter().enumerate() {
        // One chunk's bytes at a time, not the whole plane's.
        for samples in plane.chunks(TRANSFER_BYTES / 4) {
            let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let push = format!(
                "(() => {{ const b = atob('{b64}'); const c = new Uint8Array(b.length); \
                 for (let i = 0; i < b.length; i++) c[i] = b.charCodeAt(i); window.__HF_FX_IO.in[{p}].push(c); }})()"
            );
            eval(page, &push).await?;
        }
    }
    let lengths = eval(page, &render_call(chain, automation, elapsed)).await?;
    let lengths: Vec<usize> = serde_json::from_value(lengths).map_err(|e| failed("the runtime's answer", e))?;
    let mut out = Vec::with_capacity(lengths.len());
    for (p, len) in lengths.into_iter().enumerate() {
        out.push(read_plane(page, p, len).await?);
    }
    Ok(out)
}

/// HyperFrames' `renderPlanesInPage`: the chunks joined into planes, rendered, kept in
/// `__HF_FX_IO.out`; answers each plane's length.
fn render_call(chain: &str, automation: Option<&str>, elapsed: f64) -> String {
    format!(
        "(async () => {{ const io = window.__HF_FX_IO; \
         if (!window.__HF_AUDIO_FX || !io) throw new Error('audio FX runtime failed to load'); \
         const planes = io.in.map(chunks => {{ const b = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0)); \
         let at = 0; for (const c of chunks) {{ b.set(c, at); at += c.length; }} return new Float32Array(b.buffer); }}); \
         io.in = []; io.out = await window.__HF_AUDIO_FX.render(planes, 48000, {}, {}, {}); \
         return io.out.map(p => p.length); }})()",
        json(chain),
        automation.map_or("undefined".to_string(), json),
        // Rust's shortest round-trip text: JavaScript reads back the same double.
        if elapsed.is_finite() { elapsed } else { 0.0 }
    )
}

async fn read_plane(page: &Page, p: usize, len: usize) -> Result<Vec<f32>> {
    let total = len * 4;
    let mut bytes = Vec::with_capacity(total);
    for at in (0..total).step_by(TRANSFER_BYTES) {
        let n = TRANSFER_BYTES.min(total - at);
        let read = format!(
            "(() => {{ const p = window.__HF_FX_IO.out[{p}]; const u = new Uint8Array(p.buffer, p.byteOffset + {at}, {n}); \
             let s = ''; for (let i = 0; i < u.length; i += 32768) s += String.fromCharCode.apply(null, u.subarray(i, i + 32768)); \
             return btoa(s); }})()"
        );
        let b64 = eval(page, &read).await?;
        let b64 = b64.as_str().ok_or_else(|| failed("reading a plane", "no string"))?;
        bytes.extend(base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| failed("reading a plane", e))?);
    }
    Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// A JavaScript string literal for `text`.
fn json(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

async fn eval(page: &Page, expr: &str) -> Result<serde_json::Value> {
    let mut params = EvaluateParams::new(expr);
    params.await_promise = Some(true);
    params.return_by_value = Some(true);
    let answer = page.execute(params).await.map_err(|e| failed("the browser", e))?;
    if let Some(ex) = &answer.result.exception_details {
        let text = ex.exception.as_ref().and_then(|o| o.description.clone()).unwrap_or_else(|| ex.text.clone());
        return Err(failed("the runtime threw", text.lines().next().unwrap_or("").to_string()));
    }
    Ok(answer.result.result.value.clone().unwrap_or(serde_json::Value::Null))
}
