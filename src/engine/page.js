// framefan's engine layer in the page: injected into every frame of the page (iframes too) before
// any page script runs (Page.addScriptToEvaluateOnNewDocument). It is not a composition runtime:
// the composition's semantics are HyperFrames' published runtime, which the file server puts
// into <head>. This layer owns what an engine owns:
//   - time: Date, performance.now and requestAnimationFrame follow a virtual clock that moves only
//     when the renderer seeks (HyperFrames' __HF_VIRTUAL_TIME__ shape, so the runtime finds its
//     real timers), and Math.random / crypto are seeded from the frame, so a frame is the same
//     pixels in every worker and on every retry;
//   - the render-mode globals the runtime reads: __HF_RENDER_CAPTURE_MODE, the render seek config
//     (fps quantisation) and __hfVariables (the overrides; the runtime merges them over the
//     page's data-composition-variables through __hyperframes.getVariables());
//   - media: the browser never decodes audio or video; <video> shows the plan's pre-extracted
//     frames in a sibling <img class="__render_frame__">, as HyperFrames' engine injects them;
//   - the protocol the renderer drives through CDP: window.__framefan.ready(timeoutMs),
//     seek(frame), composite(), duration(), damage(). seek bridges to
//     window.__player.renderSeek(t), or, on a page without a composition root, to the page's own
//     window.__hf.seek(t); a page with shader transitions seeks through window.__hf.seek, which
//     their page-side compositor wraps (composite() draws the transition frame it staged).
(function () {
  "use strict";
  const CFG = __FRAMEFAN_CONFIG__;
  if (window.__framefan) return;
  // A page with shader transitions composites them itself (@hyperframes/shader-transitions'
  // page-side compositor), as HyperFrames' producer asks it to: the sentinel its pre-head script
  // sets, before any page script runs.
  if (CFG.pageSideCompositing) window.__HF_PAGE_SIDE_COMPOSITING__ = true;

  const fpsNum = CFG.fpsNum;
  const fpsDen = CFG.fpsDen;
  let nowMs = 0;
  const errors = [];
  const warnings = [];

  // ---- virtual clock (t = 0 is the epoch, as in HyperFrames' producer) ----
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const realSetTimeout = window.setTimeout.bind(window);
  const realRaf = window.requestAnimationFrame ? window.requestAnimationFrame.bind(window) : null;
  const realCancelRaf = window.cancelAnimationFrame ? window.cancelAnimationFrame.bind(window) : null;
  function VirtualDate(...args) {
    if (!new.target) return new RealDate(nowMs).toString();
    return args.length === 0 ? new RealDate(nowMs) : new RealDate(...args);
  }
  VirtualDate.prototype = RealDate.prototype;
  VirtualDate.now = () => nowMs;
  VirtualDate.parse = RealDate.parse;
  VirtualDate.UTC = RealDate.UTC;
  window.Date = VirtualDate;
  try {
    Object.defineProperty(performance, "now", { value: () => nowMs, configurable: true });
  } catch (e) {
    errors.push("performance.now could not be replaced: " + e);
  }
  let rafQueue = new Map();
  let rafNext = 1;
  window.requestAnimationFrame = (cb) => {
    const id = rafNext++;
    rafQueue.set(id, cb);
    return id;
  };
  window.cancelAnimationFrame = (id) => {
    rafQueue.delete(id);
  };
  function runAnimationFrames() {
    const queue = rafQueue;
    rafQueue = new Map();
    for (const cb of queue.values()) {
      try {
        cb(nowMs);
      } catch (e) {
        errors.push("requestAnimationFrame callback threw: " + e);
      }
    }
  }

  // ---- seeded randomness ----
  let rngState = 0x9e3779b9;
  function reseed(frame) {
    rngState = (Math.imul(frame + 1, 0x85ebca6b) ^ 0x9e3779b9) >>> 0;
  }
  function random() {
    rngState = (rngState + 0x6d2b79f5) >>> 0;
    let t = rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  Math.random = random;
  if (window.crypto) {
    crypto.getRandomValues = function (array) {
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (random() * 256) | 0;
      return array;
    };
    crypto.randomUUID = function () {
      const b = crypto.getRandomValues(new Uint8Array(16));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    };
  }

  // Moving this frame's clock: its own rAF callbacks, then those of same-origin child frames.
  function advance(frame) {
    nowMs = (frame * fpsDen * 1000) / fpsNum;
    reseed(frame);
    runAnimationFrames();
    for (let i = 0; i < window.frames.length; i++) {
      try {
        const child = window.frames[i];
        if (child.__framefan && child.__framefan.advance) child.__framefan.advance(frame);
      } catch (e) {
        // A cross-origin frame cannot be reached (and cannot exist: the page is served offline).
      }
    }
  }

  // ---- what HyperFrames' runtime reads in render mode ----
  window.__HF_VIRTUAL_TIME__ = {
    originalSetTimeout: realSetTimeout,
    originalClearTimeout: window.clearTimeout.bind(window),
    originalSetInterval: window.setInterval.bind(window),
    originalClearInterval: window.clearInterval.bind(window),
    originalRequestAnimationFrame: realRaf,
    originalCancelAnimationFrame: realCancelRaf,
    seekToTime: (ms) => nowMs,
    getTime: () => nowMs,
  };
  globalThis.__HF_RENDER_CAPTURE_MODE = true;
  window.__HF_EXPORT_RENDER_SEEK_CONFIG = {
    mode: "preview-phase",
    diagnostics: false,
    step: 1 / 120,
    offsetFraction: 0.5,
    fps: fpsNum / fpsDen,
    fpsSource: "render-options",
    owner: "runtime",
  };
  window.__hfVariables = Object.assign({}, CFG.variables || {});

  // Where a script is, without the loopback origin (its port differs on every run).
  const where = (url) => String(url || "").replace(location.origin + "/", "") || "index.html";
  window.addEventListener("error", (e) => {
    if (e.target && e.target !== window) {
      // A resource's own error (capture phase): a script that did not load is a script failure;
      // images and fonts are checked where the page becomes ready.
      if (e.target.tagName === "SCRIPT") errors.push(`script ${where(e.target.src)} failed to load`);
      return;
    }
    const at = e.filename ? ` (${where(e.filename)}:${e.lineno})` : "";
    errors.push("page script error: " + (e.message || e.type) + at);
  }, true);
  window.addEventListener("unhandledrejection", (e) => errors.push("unhandled rejection: " + e.reason));

  // ---- media: the browser never decodes audio or video ----
  function silenceMedia(el) {
    if (el.dataset.framefanSrc !== undefined) return;
    el.dataset.framefanSrc = el.getAttribute("src") || "";
    el.removeAttribute("src");
    for (const s of el.querySelectorAll("source")) s.remove();
    el.preload = "none";
    el.muted = true;
    el.autoplay = false;
  }
  new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        if (n.matches("video, audio")) silenceMedia(n);
        for (const m of n.querySelectorAll ? n.querySelectorAll("video, audio") : []) silenceMedia(m);
      }
    }
  }).observe(document, { childList: true, subtree: true });

  // ---- video frames: the plan's JPEGs / PNGs in a sibling <img class="__render_frame__"> ----
  // The shape HyperFrames' engine injects and its runtime recognises (e.g. as a WebGL texture
  // source): while a video's clip is active the <video> is hidden (visibility only, so its
  // animated opacity stays readable) and the image overlays its used box with the video's visual
  // styles; outside the clip, or under a hidden host, both are hidden.
  const VISUAL = ["object-fit", "object-position", "z-index", "visibility", "filter", "mix-blend-mode",
    "backdrop-filter", "border-radius", "overflow", "clip-path", "mask", "mask-image", "mask-size",
    "mask-position", "mask-repeat", "transform", "transform-origin"];
  const videos = [];
  function ancestorHidden(el) {
    for (let p = el.parentElement; p && p !== document.documentElement; p = p.parentElement) {
      const cs = getComputedStyle(p);
      if (cs.display === "none") return true;
      if (cs.visibility === "hidden" && (p.hasAttribute("data-composition-src") || p.hasAttribute("data-composition-file"))) return true;
    }
    return false;
  }
  function frameImage(el, id) {
    let img = el.nextElementSibling;
    if (img && img.classList.contains("__render_frame__")) return img;
    img = document.createElement("img");
    img.classList.add("__render_frame__");
    img.id = `__render_frame_${id}__`;
    img.style.pointerEvents = "none";
    el.parentNode.insertBefore(img, el.nextSibling);
    return img;
  }
  function placeImage(el, img) {
    const cs = getComputedStyle(el);
    for (const p of VISUAL) {
      const v = cs.getPropertyValue(p);
      if (v) img.style.setProperty(p, v);
    }
    const r = el.getBoundingClientRect();
    img.style.position = "absolute";
    img.style.inset = "auto";
    img.style.left = `${el.offsetLeft}px`;
    img.style.top = `${el.offsetTop}px`;
    img.style.width = `${el.offsetWidth > 0 ? el.offsetWidth : r.width}px`;
    img.style.height = `${el.offsetHeight > 0 ? el.offsetHeight : r.height}px`;
    const opacity = parseFloat(cs.opacity);
    img.style.opacity = String(Number.isNaN(opacity) ? 1 : opacity);
    img.style.visibility = "visible";
  }
  function paintVideos(frame) {
    const loads = [];
    for (const item of videos) {
      const { el, v } = item;
      const active = frame >= v.firstFrame && frame < v.firstFrame + v.frameCount && !ancestorHidden(el);
      const existing = el.nextElementSibling && el.nextElementSibling.classList.contains("__render_frame__") ? el.nextElementSibling : null;
      el.style.setProperty("visibility", "hidden", "important");
      el.style.setProperty("pointer-events", "none", "important");
      if (!active) {
        if (existing) existing.style.setProperty("visibility", "hidden", "important");
        continue;
      }
      const img = frameImage(el, v.videoId);
      el.style.removeProperty("visibility");
      placeImage(el, img);
      el.style.setProperty("visibility", "hidden", "important");
      const k = frame - v.firstFrame + 1;
      const name = v.frameName;
      const file = `${name.prefix}${String(k).padStart(name.digits, "0")}${name.suffix}`;
      const url = `${CFG.videoFramesPrefix}${encodeURIComponent(v.videoId)}/${file}`;
      if (item.shown === k) continue;
      item.shown = k;
      img.decoding = "sync";
      img.src = url;
      loads.push(img.decode().catch(() => errors.push(`video ${v.videoId}: frame ${url} could not be decoded`)));
    }
    return loads;
  }

  // ---- readiness ----
  const sleep = (ms) => new Promise((r) => realSetTimeout(r, ms));
  const rootEl = () => document.querySelector("[data-composition-id]");
  const player = () => (window.__player && typeof window.__player.renderSeek === "function" ? window.__player : null);
  let mode = null; // "runtime" | "custom"
  // A failure of ready(), with the kind the renderer maps to an error code: "script" (a page
  // script threw or did not load), "image" or "not-ready" (a bounded wait ran out).
  function failure(kind, message) {
    const e = new Error(message);
    e.framefanKind = kind;
    return e;
  }
  const scriptFailure = () => failure("script", errors.join("; "));
  // Wait until test() holds; at the deadline either fail, or (soft) go on with a warning.
  async function waitFor(what, test, deadline, soft) {
    while (!test()) {
      // A page script that threw will not register what it was going to: say so at once.
      if (errors.length) throw scriptFailure();
      if (realNow() > deadline) {
        if (!soft) throw failure("not-ready", `${what} did not become ready`);
        warnings.push(`${what} did not become ready; rendering the page as it stands`);
        return false;
      }
      await sleep(10);
    }
    return true;
  }
  function unregistered() {
    const tls = window.__timelines || {};
    return Array.from(document.querySelectorAll("[data-composition-id]"))
      .filter((el) => !el.hasAttribute("data-no-timeline"))
      .map((el) => el.getAttribute("data-composition-id"))
      .filter((id) => id && !tls[id]);
  }
  // Ready, or a failure: resolves to {mode, duration, warnings, brokenFonts, unregistered} or
  // {failure: {kind, message}}, never rejects (an unexpected exception is a script failure).
  async function ready(timeoutMs, graceMs) {
    try {
      return await becomeReady(timeoutMs, graceMs);
    } catch (e) {
      return { failure: { kind: e.framefanKind || "script", message: String((e && e.message) || e) } };
    }
  }
  // The family and sources of each @font-face rule that failed (the FontFace API has no URL).
  function brokenFaces() {
    const failed = new Set(Array.from(document.fonts).filter((f) => f.status === "error").map((f) => f.family.replace(/^["']|["']$/g, "")));
    if (!failed.size) return [];
    const named = [];
    for (const sheet of Array.from(document.styleSheets)) {
      let rules = [];
      try {
        rules = Array.from(sheet.cssRules);
      } catch (e) {
        continue;
      }
      for (const r of rules) {
        if (!(r instanceof CSSFontFaceRule)) continue;
        const family = r.style.getPropertyValue("font-family").trim().replace(/^["']|["']$/g, "");
        if (failed.has(family)) named.push(`${family} (src ${r.style.getPropertyValue("src").slice(0, 200)})`);
      }
    }
    return named.length ? named : Array.from(failed);
  }
  async function becomeReady(timeoutMs, graceMs) {
    const deadline = realNow() + timeoutMs;
    await waitFor("the document (readyState complete)", () => document.readyState === "complete", deadline);
    if (!rootEl()) {
      if (!(window.__hf && typeof window.__hf.seek === "function")) {
        throw failure("script", "the page has no data-composition-id root and no window.__hf = {duration, seek}");
      }
      mode = "custom";
    } else {
      await waitFor("the HyperFrames runtime (window.__player)", () => player() !== null, deadline);
      mode = "runtime";
      // A timeline that never registers: HyperFrames renders the page as it stands; so do we,
      // after a short bounded wait (its own is 45 s).
      const soft = Math.min(deadline, realNow() + graceMs);
      await waitFor("the runtime (window.__renderReady)", () => window.__renderReady === true, soft, true);
      // Every composition but those with data-no-timeline registers window.__timelines[id].
      const missing = () => unregistered().length === 0;
      if (await waitFor("a composition timeline", missing, soft, true)) {
        if (typeof window.__hfForceTimelineRebind === "function") window.__hfForceTimelineRebind();
      } else {
        warnings[warnings.length - 1] = `no timeline registered for composition ${unregistered().join(", ")}; rendering the page as it stands`;
      }
      if (CFG.pageSideCompositing) await bridgeCompositor(soft);
      // HyperFrames' engine waits for a duration > 0 before its first seek (an adapter's inferred
      // duration lands after discovery) and reads it then: a seek makes the runtime look at the
      // clips again, so a duration read later depends on timing. None in time: 0, refused.
      if (!(await waitFor("the runtime's duration (window.__hf.duration)", () => duration() > 0, soft, true))) {
        warnings.pop();
      }
    }
    await Promise.race([document.fonts.ready, sleep(Math.max(0, deadline - realNow()))]);
    if (document.fonts.status !== "loaded") throw failure("not-ready", "document.fonts did not become ready");
    // Failed faces are reported, not thrown: plan refuses them, a render draws the fallback.
    const brokenFonts = brokenFaces();
    for (const img of Array.from(document.images)) {
      await waitFor(`image ${img.getAttribute("src")}`, () => img.complete, deadline);
      if (img.getAttribute("src") && img.naturalWidth === 0) {
        // One from the plan (or inline) is a broken page; one from elsewhere is a remote image
        // plan could not fetch (it warned then), which renders as a failed load, as in HyperFrames.
        const url = new URL(img.currentSrc || img.src, location.href);
        const own = url.origin === location.origin || url.protocol === "data:" || url.protocol === "blob:";
        if (own) throw failure("image", `image ${img.getAttribute("src")} failed to load`);
        warnings.push(`image ${img.getAttribute("src")} did not load (it is not in the plan); it renders as a failed load`);
      }
      await img.decode().catch(() => {});
    }
    for (const v of CFG.videos || []) {
      const el = document.getElementById(v.videoId);
      if (el) videos.push({ el, v, shown: 0 });
    }
    if (window.gsap && window.gsap.ticker && window.gsap.ticker.lagSmoothing) window.gsap.ticker.lagSmoothing(0);
    if (errors.length) throw scriptFailure();
    return { mode, duration: duration(), warnings, brokenFonts, unregistered: mode === "runtime" ? unregistered() : [] };
  }

  // ---- shader transitions composited in the page ----
  // The compositor wraps window.__hf.seek (HyperFrames' engine bridge: renderSeek at t), polling
  // for it every 50 ms: the seek is defined once the runtime is up, and every frame then seeks
  // through it, so that the compositor sees each frame's time. Until it has wrapped the seek (or
  // when it could not install: no WebGL or drawElementImage), the page renders its fallback.
  let bridgeSeek = null;
  async function bridgeCompositor(soft) {
    const hf = (window.__hf = window.__hf || {});
    if (typeof hf.seek !== "function") {
      bridgeSeek = function (t) {
        return player().renderSeek(t);
      };
      hf.seek = bridgeSeek;
    }
    const installed = () => typeof window.__hf_page_composite_prepare === "function";
    const wrapped = () => typeof window.__hf.seek === "function" && window.__hf.seek !== bridgeSeek;
    if (installed()) {
      await waitFor("the shader transitions' page-side compositor (window.__hf.seek wrapped)", wrapped, soft, true);
    } else {
      warnings.push("the shader transitions' page-side compositor did not install (no WebGL or drawElementImage); the transitions render without their shader");
    }
  }
  function compositing() {
    return CFG.pageSideCompositing && mode === "runtime" && window.__hf && typeof window.__hf.seek === "function";
  }
  // Draw the pending transition frame: the browser has painted the staged scenes (the renderer's
  // micro screenshot), so drawElementImage reads them; the shader output is shown over the page.
  function composite() {
    if (typeof window.__hf_page_composite_resolve !== "function") return false;
    return window.__hf_page_composite_resolve() === true;
  }

  // The runtime's duration, else what the root and its sub-compositions declare (as
  // HyperFrames' bridge does); on a custom page, the page's own number.
  function duration() {
    if (mode !== "runtime") return window.__hf && Number(window.__hf.duration);
    const d = Number(player().getDuration());
    // A duration the runtime derived from clip ends only ("derived") appears late, or not at
    // all, depending on timing; HyperFrames' engine reads 0 for such a page and refuses it.
    const source = window.__hf && window.__hf.durationSource;
    if (d > 0 && !(source && source.source === "derived")) return d;
    const root = rootEl();
    const declared = Number(root.getAttribute("data-duration"));
    if (declared > 0) return declared;
    let end = 0;
    for (const c of document.querySelectorAll("[data-composition-id][data-duration]")) {
      if (c === root) continue;
      end = Math.max(end, (Number(c.getAttribute("data-start")) || 0) + (Number(c.getAttribute("data-duration")) || 0));
    }
    return end;
  }

  // ---- seeking: runtime first, then the clock (HyperFrames' order), then video frames ----
  // Resolves to whether a shader transition frame is pending: the renderer then has the browser
  // paint (a 1×1 screenshot) and calls composite(), HyperFrames' order.
  async function seek(frame) {
    const t = (frame * fpsDen) / fpsNum;
    reseed(frame);
    const through = compositing();
    const r = mode === "runtime" && !through ? player().renderSeek(t) : window.__hf.seek(t);
    if (r && typeof r.then === "function") await r;
    const pending = through && window.__hf_page_composite_pending === true;
    advance(frame);
    if (typeof window.__hfWaitForSeekCompletion === "function") await window.__hfWaitForSeekCompletion();
    const loads = paintVideos(frame);
    if (loads.length) await Promise.all(loads);
    if (pending && typeof window.__hf_page_composite_prepare === "function") await window.__hf_page_composite_prepare();
    if (errors.length) throw new Error(errors.join("; "));
    return pending;
  }

  // A repaint that changes no pixel: a transparent 1×1 box flips between two transparent colours.
  // The renderer uses it when a capture comes back without an image because nothing was damaged.
  let damageBox = null;
  function damage() {
    if (!damageBox) {
      damageBox = document.createElement("div");
      damageBox.setAttribute("data-framefan", "");
      damageBox.style.cssText = "position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none;z-index:2147483647";
      document.documentElement.appendChild(damageBox);
    }
    damageBox.style.backgroundColor = damageBox.style.backgroundColor === "rgba(0, 0, 0, 0)" ? "rgba(255, 255, 255, 0)" : "rgba(0, 0, 0, 0)";
    return true;
  }

  // Outputs with alpha: the page's own background goes, as in HyperFrames' producer, so only the
  // composition's content is opaque.
  function transparent() {
    const style = document.createElement("style");
    style.setAttribute("data-framefan", "");
    style.textContent = "html,body{background:transparent!important;background-color:transparent!important;background-image:none!important}";
    document.head.appendChild(style);
    return true;
  }

  window.__framefan = { ready, seek, composite, advance, duration, damage, transparent, errors, warnings };
})();
