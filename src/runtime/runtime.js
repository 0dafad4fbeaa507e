// framefan page runtime: injected before any page script of the composition.
//
// It owns time: Date, performance.now and requestAnimationFrame follow a virtual clock that only
// moves when the renderer seeks, and Math.random / crypto.getRandomValues are seeded from the
// frame being rendered, so frame f is the same pixels in every worker and on every retry. It binds
// GSAP timelines (window.__timelines), shows timed clips only inside their frame-snapped windows,
// seeks CSS and Web Animations, and paints <video> elements from the plan's pre-extracted frames.
// The renderer talks to it through window.__framefan: ready(timeoutMs) and seek(frame).
(function () {
  "use strict";
  const CFG = __FRAMEFAN_CONFIG__;
  if (window.__framefan) return;

  const EPOCH_MS = 1704067200000; // 2024-01-01T00:00:00Z: the wall clock at t = 0
  const fpsNum = CFG.fpsNum;
  const fpsDen = CFG.fpsDen;
  let nowMs = 0;
  const errors = [];

  // ---- virtual clock ----
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  function VirtualDate(...args) {
    if (!new.target) return new RealDate(EPOCH_MS + nowMs).toString();
    return args.length === 0 ? new RealDate(EPOCH_MS + nowMs) : new RealDate(...args);
  }
  VirtualDate.prototype = RealDate.prototype;
  VirtualDate.now = () => EPOCH_MS + nowMs;
  VirtualDate.parse = RealDate.parse;
  VirtualDate.UTC = RealDate.UTC;
  window.Date = VirtualDate;
  const realSetTimeout = window.setTimeout.bind(window);
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

  window.addEventListener("error", (e) => errors.push("page script error: " + (e.message || e.type)));
  window.addEventListener("unhandledrejection", (e) => errors.push("unhandled rejection: " + e.reason));

  // ---- registries the page writes into ----
  if (!window.__timelines) window.__timelines = {};
  let variables = null;
  Object.defineProperty(window, "__hfVariables", {
    configurable: true,
    get() {
      if (variables === null) variables = Object.assign({}, declaredVariables(), CFG.variables || {});
      return variables;
    },
  });
  function declaredVariables() {
    const el = document.querySelector("[data-composition-variables]");
    if (!el) return {};
    try {
      const decl = JSON.parse(el.getAttribute("data-composition-variables"));
      if (!Array.isArray(decl)) return decl && typeof decl === "object" ? decl : {};
      const out = {};
      for (const d of decl) {
        const key = d && (d.id || d.name);
        if (key) out[key] = "default" in d ? d.default : d.value;
      }
      return out;
    } catch (e) {
      errors.push("data-composition-variables is not JSON: " + e);
      return {};
    }
  }

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

  // ---- the composition model, built once the document is loaded ----
  let model = null;
  const num = (v, dflt) => {
    const x = parseFloat(v);
    return Number.isFinite(x) ? x : dflt;
  };
  function compositionOf(el) {
    for (let p = el.parentElement; p; p = p.parentElement) if (p.hasAttribute("data-composition-id")) return p;
    return null;
  }
  function absStart(el, memo) {
    if (memo.has(el)) return memo.get(el);
    const comp = compositionOf(el);
    const own = el === model?.root ? 0 : num(el.getAttribute("data-start"), 0);
    const value = own + (comp ? absStart(comp, memo) : 0);
    memo.set(el, value);
    return value;
  }
  function findRoot() {
    const all = Array.from(document.querySelectorAll("[data-composition-id]"));
    return all.find((e) => e.getAttribute("data-root") === "true") || all.find((e) => !compositionOf(e)) || null;
  }
  function buildModel() {
    const root = findRoot();
    model = { root, timed: [], comps: [], videos: [] };
    if (!root) return;
    const memo = new Map();
    const frameOf = (sec) => Math.round((sec * fpsNum) / fpsDen);
    for (const el of document.querySelectorAll("[data-start], [data-duration]")) {
      if (el === root) continue;
      const start = absStart(el, memo);
      const dur = el.hasAttribute("data-duration") ? num(el.getAttribute("data-duration"), null) : null;
      const startFrame = frameOf(start);
      const endFrame = dur === null ? Infinity : frameOf(start + dur);
      model.timed.push({ el, start, startFrame, endFrame, inline: el.style.visibility, display: el.style.display });
    }
    for (const el of document.querySelectorAll("[data-composition-id]")) {
      const isRoot = el === root;
      model.comps.push({
        el,
        id: el.getAttribute("data-composition-id"),
        isRoot,
        start: isRoot ? 0 : absStart(el, memo),
        dur: el.hasAttribute("data-duration") ? num(el.getAttribute("data-duration"), null) : null,
        playbackStart: num(el.getAttribute("data-playback-start"), 0),
        rate: num(el.getAttribute("data-playback-rate"), 1),
        needsTimeline: !el.hasAttribute("data-no-timeline"),
      });
    }
    for (const v of CFG.videos || []) {
      const el = document.getElementById(v.videoId);
      if (el) model.videos.push({ el, v, shown: 0 });
    }
    const timedEls = new Set(model.timed.map((t) => t.el));
    for (const t of model.timed) {
      t.hasTimedDescendant = Array.from(t.el.querySelectorAll("*")).some((d) => timedEls.has(d));
      t.ancestors = [];
      for (let p = t.el.parentElement; p; p = p.parentElement) {
        const a = model.timed.find((x) => x.el === p);
        if (a) t.ancestors.push(a);
      }
    }
    forceSize(root);
  }
  function forceSize(root) {
    const w = CFG.width + "px";
    const h = CFG.height + "px";
    const style = document.createElement("style");
    style.setAttribute("data-framefan", "");
    style.textContent =
      `html,body{margin:0!important;padding:0!important;width:${w}!important;height:${h}!important;overflow:hidden!important}` +
      `:where([data-framefan-root]>[data-start]){position:absolute;left:0;top:0;width:100%;height:100%}`;
    document.head.appendChild(style);
    root.setAttribute("data-framefan-root", "");
    root.style.setProperty("width", w, "important");
    root.style.setProperty("height", h, "important");
    root.style.setProperty("overflow", "hidden", "important");
    root.style.setProperty("margin", "0", "important");
    if (getComputedStyle(root).position === "static") root.style.position = "relative";
  }

  // ---- timelines ----
  function timelineFor(comp) {
    const tls = window.__timelines || {};
    if (tls[comp.id]) return tls[comp.id];
    if (comp.isRoot) {
      const keys = Object.keys(tls);
      const known = new Set(model.comps.map((c) => c.id));
      const others = keys.filter((k) => !known.has(k));
      if (others.length === 1 && keys.length === 1) return tls[others[0]];
    }
    return null;
  }
  function seekTimelines(t) {
    const globalTl = window.gsap && window.gsap.globalTimeline;
    for (const comp of model.comps) {
      const tl = timelineFor(comp);
      if (!tl || typeof tl.totalTime !== "function") continue;
      if (!comp.isRoot && tl.parent && tl.parent !== globalTl) continue; // nested by the page itself
      let local = comp.isRoot ? t : comp.playbackStart + (t - comp.start) * comp.rate;
      const total = typeof tl.totalDuration === "function" ? tl.totalDuration() : Infinity;
      local = Math.max(0, Math.min(local, total, comp.dur === null || comp.isRoot ? Infinity : comp.dur));
      if (typeof tl.pause === "function" && !tl.paused()) tl.pause();
      tl.totalTime(local, false);
    }
  }

  // ---- visibility ----
  function applyVisibility(frame) {
    for (const t of model.timed) t.own = t.startFrame <= frame && frame < t.endFrame;
    for (const t of model.timed) {
      const visible = t.own && t.ancestors.every((a) => a.own);
      const s = t.el.style;
      if (visible) {
        s.visibility = t.inline;
        s.display = t.display;
      } else {
        s.setProperty("visibility", "hidden", "important");
        const pos = getComputedStyle(t.el).position;
        if ((pos === "static" || pos === "relative") && !t.hasTimedDescendant) s.setProperty("display", "none", "important");
      }
    }
  }

  // ---- CSS and Web Animations ----
  function timedStartOf(el, memo) {
    for (let p = el; p; p = p.parentElement) {
      if (p === model.root) return 0;
      if (p.hasAttribute && p.hasAttribute("data-start")) return absStart(p, memo);
    }
    return 0;
  }
  function seekAnimations(t) {
    const memo = new Map();
    for (const a of document.getAnimations()) {
      const target = a.effect && a.effect.target;
      const offset = target ? timedStartOf(target, memo) : 0;
      a.pause();
      a.currentTime = Math.max(0, (t - offset) * 1000);
    }
  }

  // ---- video frames ----
  const FIT = { fill: "100% 100%", contain: "contain", cover: "cover", none: "auto", "scale-down": "contain" };
  function paintVideos(frame) {
    const loads = [];
    for (const item of model.videos) {
      const { el, v } = item;
      if (frame < v.firstFrame || v.frameCount === 0) {
        el.style.backgroundImage = "none";
        item.shown = 0;
        continue;
      }
      const k = Math.min(frame - v.firstFrame + 1, v.frameCount);
      if (k === item.shown) continue;
      item.shown = k;
      const url = `${CFG.videoFramesPrefix}${encodeURIComponent(v.videoId)}/frame_${String(k).padStart(5, "0")}.jpg`;
      const img = new Image();
      img.src = url;
      loads.push(
        img.decode().then(
          () => {
            const fit = getComputedStyle(el).objectFit || "fill";
            el.style.backgroundImage = `url("${url}")`;
            el.style.backgroundSize = FIT[fit] || "100% 100%";
            el.style.backgroundPosition = getComputedStyle(el).objectPosition || "50% 50%";
            el.style.backgroundRepeat = "no-repeat";
          },
          () => errors.push(`video ${v.videoId}: frame ${url} could not be decoded`)
        )
      );
    }
    return loads;
  }

  // ---- readiness ----
  const sleep = (ms) => new Promise((r) => realSetTimeout(r, ms));
  async function waitFor(what, test, deadline) {
    while (!test()) {
      // A page script that threw will not register what it was going to: say so at once.
      if (errors.length) throw new Error(errors.join("; "));
      if (realNow() > deadline) throw new Error(`${what} did not become ready`);
      await sleep(10);
    }
  }
  async function ready(timeoutMs) {
    const deadline = realNow() + timeoutMs;
    await waitFor("the document (readyState complete)", () => document.readyState === "complete", deadline);
    const custom = !findRoot() && window.__hf && typeof window.__hf.seek === "function";
    buildModel();
    if (!model.root && !custom) throw new Error("the page has no data-composition-id root and no window.__hf");
    await Promise.race([document.fonts.ready, sleep(Math.max(0, deadline - realNow()))]);
    if (document.fonts.status !== "loaded") throw new Error("document.fonts did not become ready");
    for (const img of Array.from(document.images)) {
      await waitFor(`image ${img.getAttribute("src")}`, () => img.complete, deadline);
      if (img.getAttribute("src") && img.naturalWidth === 0) throw new Error(`image ${img.getAttribute("src")} failed to load`);
      await img.decode().catch(() => {});
    }
    for (const comp of model.comps.filter((c) => c.needsTimeline)) {
      await waitFor(`the GSAP timeline of composition "${comp.id}"`, () => timelineFor(comp) !== null, deadline);
    }
    if (window.gsap && window.gsap.ticker && window.gsap.ticker.lagSmoothing) window.gsap.ticker.lagSmoothing(0);
    if (errors.length) throw new Error(errors.join("; "));
    if (!custom) window.__hf = hf;
    return { custom, duration: duration() };
  }

  function duration() {
    if (!model || !model.root) return window.__hf && window.__hf.duration;
    const declared = num(model.root.getAttribute("data-duration"), null);
    if (declared !== null) return declared;
    let longest = 0;
    const rootTl = timelineFor(model.comps.find((c) => c.isRoot) || {});
    if (rootTl && rootTl.totalDuration) longest = rootTl.totalDuration();
    for (const t of model.timed) {
      const d = num(t.el.getAttribute("data-duration"), null);
      if (d !== null) longest = Math.max(longest, t.start + d);
    }
    for (const c of model.comps) {
      const tl = c.isRoot ? null : timelineFor(c);
      if (tl && tl.totalDuration) longest = Math.max(longest, c.start + tl.totalDuration());
    }
    return longest;
  }

  // ---- seeking ----
  function seek(frame) {
    const t = (frame * fpsDen) / fpsNum;
    nowMs = (frame * fpsDen * 1000) / fpsNum;
    reseed(frame);
    if (!model.root) {
      const r = window.__hf.seek(t);
      runAnimationFrames();
      return r && typeof r.then === "function" ? r.then(() => frame) : frame;
    }
    runAnimationFrames();
    seekTimelines(t);
    applyVisibility(frame);
    seekAnimations(t);
    const loads = paintVideos(frame);
    if (errors.length) throw new Error(errors.join("; "));
    return loads.length ? Promise.all(loads).then(() => frame) : frame;
  }

  // A repaint that changes no pixel: a transparent 1×1 box flips between two transparent colours.
  // The renderer uses it when a capture comes back without an image because nothing was damaged.
  let damageBox = null;
  function damage() {
    if (!damageBox) {
      damageBox = document.createElement("div");
      damageBox.setAttribute("data-framefan", "");
      damageBox.style.cssText = "position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none;z-index:2147483647";
      document.body.appendChild(damageBox);
    }
    damageBox.style.backgroundColor = damageBox.style.backgroundColor === "rgba(0, 0, 0, 0)" ? "rgba(255, 255, 255, 0)" : "rgba(0, 0, 0, 0)";
    return true;
  }

  const hf = {
    get duration() {
      return duration();
    },
    seek(t) {
      return seek(Math.round((t * fpsNum) / fpsDen));
    },
  };
  window.__framefan = { ready, seek, duration, damage, errors };
})();
