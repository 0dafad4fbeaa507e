//! Running a sub-composition's inline scripts as HyperFrames' render compiler does.
//!
//! HyperFrames (0.8.170, `wrapScopedCompositionScript` and `coalesceHeadStylesAndBodyScripts`)
//! takes every inline script out of a mounted file and runs them all, one file after another,
//! from one `<script>` at the end of `<body>`, after the page's own inline scripts. Each file's
//! code runs inside a function whose `document`, `gsap` and `window` are stand-ins scoped to the
//! composition's root, the first element matching `[data-composition-id="<host id>"]`:
//!
//! - `document.querySelector`/`querySelectorAll` answer only elements inside the root (an array,
//!   not a `NodeList`), `getElementById` prefers one inside it; a selector naming the
//!   composition's own `[data-composition-id]` (with `[data-start]`/`[data-duration]` beside it)
//!   means the root, `#<authored root id>` means the flattened root. Everything else (including
//!   `document.currentScript`, the shared script at the end of `<body>`) is the real document's.
//! - `gsap.to/from/fromTo/set`, the same methods of a `gsap.timeline()` it creates, and
//!   `gsap.utils.toArray`/`selector` resolve selector strings the same scoped way.
//! - `window.__timelines` publishes under both ids when the host's id differs from the one the
//!   file declares; native `window` methods stay bound to the real window.
//!
//! So a script that takes `document.currentScript.parentElement` as its root gets `<body>`, and
//! `root.querySelector(".card")` finds the page's first `.card`, whichever scene it is in (the
//! real element method is not scoped): that is what HyperFrames renders, and what we match.
//!
//! A file without any composition id runs its scripts unscoped, each in a function of its own
//! with errors caught. Not reproduced: the per-instance variables table (`getVariables()` inside a
//! sub-composition answers the page's variables here) and HyperFrames' SVG id aliases.

use serde::Serialize;

use super::scripts::escape_inline;

/// What one file's scripts are scoped to.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    /// The id the file declares (its root's `data-composition-id`), else the host's.
    pub comp: String,
    /// The id the runtime knows the mount by: the host's, else `comp`.
    pub timeline: String,
    /// The root selector: `[data-composition-id="<host id>"]`, or `None` for an anonymous host
    /// (then built from `comp`).
    pub scope: Option<String>,
    /// The `id` authored on the file's root element.
    #[serde(rename = "authoredRoot")]
    pub authored_root: Option<String>,
}

/// The page-side half: builds the scoped stand-ins for one file and runs its code with them.
const PRELUDE: &str = r##"function (cfg, run) {
  var realDoc = window.document;
  var esc = function (v) { return String(v).replace(/\\/g, "\\\\").replace(/"/g, "\\\""); };
  var rootSel = cfg.scope || (cfg.comp ? "[data-composition-id=\"" + esc(cfg.comp) + "\"]" : "");
  var root = null;
  var findRoot = function () {
    if (!root && rootSel) root = realDoc.querySelector(rootSel);
    return root;
  };
  var reEsc = function (s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); };
  var compAttr = "\\[\\s*data-composition-id\\s*=\\s*(?:\"" + reEsc(cfg.comp) + "\"|'" + reEsc(cfg.comp) + "')\\s*\\]";
  var timing = "\\s*\\[\\s*data-(?:start|duration)\\s*=\\s*(?:\"[^\"]*\"|'[^']*')\\s*\\]";
  var rootAttr = cfg.authoredRoot ? "[data-hf-authored-id=\"" + esc(cfg.authoredRoot) + "\"]" : "";
  var nameChar = function (c) { return !!c && (/[\w-]/.test(c) || c.charCodeAt(0) >= 128); };
  var aliasRoot = function (sel) {
    if (!rootAttr || sel.indexOf("#") < 0) return sel;
    var out = "", depth = 0, quote = null, id = cfg.authoredRoot;
    for (var i = 0; i < sel.length; i++) {
      var c = sel[i];
      if (quote) { out += c; if (c === quote && sel[i - 1] !== "\\") quote = null; continue; }
      if (c === "\"" || c === "'") quote = c;
      else if (c === "[") depth++;
      else if (c === "]") depth = Math.max(0, depth - 1);
      else if (c === "#" && depth === 0 && sel.substr(i + 1, id.length) === id && !nameChar(sel[i + 1 + id.length])) {
        out += rootAttr; i += id.length; continue;
      }
      out += c;
    }
    return out;
  };
  var normalize = function (sel) {
    if (!cfg.comp || typeof sel !== "string") return sel;
    var out = sel
      .replace(new RegExp(compAttr + "(?:" + timing + ")+", "g"), function () { return rootSel; })
      .replace(new RegExp("(?:" + timing + ")+" + compAttr, "g"), function () { return rootSel; });
    return aliasRoot(out);
  };
  var inside = function (node) { var r = findRoot(); return !r || node === r || r.contains(node); };
  var queryAll = function (sel) {
    if (!findRoot() || typeof sel !== "string") return realDoc.querySelectorAll(sel);
    return Array.prototype.filter.call(realDoc.querySelectorAll(normalize(sel)), function (n) { return inside(n); });
  };
  var queryOne = function (sel) { return queryAll(sel)[0] || null; };
  var byId = function (id) {
    var found = realDoc.getElementById(id);
    if (found && inside(found)) return found;
    var r = findRoot();
    if (!r) return found || null;
    var text = id + "";
    if (cfg.authoredRoot === text && r.getAttribute("data-hf-authored-id") === text) return r;
    if (r.id === text) return r;
    try {
      var alias = r.querySelector("[data-hf-authored-id=\"" + esc(text) + "\"]");
      if (alias) return alias;
    } catch (e) {}
    try { return r.querySelector("#" + CSS.escape(text)) || null; } catch (e) {}
    return null;
  };
  var bound = function (target, prop) {
    var value = Reflect.get(target, prop, target);
    return typeof value === "function" ? value.bind(target) : value;
  };
  var doc = new Proxy(realDoc, {
    get: function (target, prop) {
      if (prop === "querySelector") return queryOne;
      if (prop === "querySelectorAll") return queryAll;
      if (prop === "getElementById") return byId;
      return bound(target, prop);
    },
  });
  var registry = null;
  var timelines = function () {
    window.__timelines = window.__timelines || {};
    if (!cfg.comp || cfg.comp === cfg.timeline) return window.__timelines;
    if (!registry) {
      registry = new Proxy(window.__timelines, {
        get: function (target, prop) {
          if (prop !== cfg.comp) return Reflect.get(target, prop, target);
          var mounted = Reflect.get(target, cfg.timeline, target);
          return mounted === undefined ? Reflect.get(target, prop, target) : mounted;
        },
        set: function (target, prop, value) {
          if (prop !== cfg.comp) return Reflect.set(target, prop, value, target);
          var authored = Reflect.get(target, cfg.comp, target);
          var owns = authored === undefined || authored === Reflect.get(target, cfg.timeline, target);
          var mounted = Reflect.set(target, cfg.timeline, value, target);
          return owns ? Reflect.set(target, cfg.comp, value, target) && mounted : mounted;
        },
      });
    }
    return registry;
  };
  var win = new Proxy(window, {
    get: function (target, prop) {
      if (prop === "__timelines") return timelines();
      var value = Reflect.get(target, prop, target);
      return typeof value === "function" && value.prototype === undefined ? value.bind(target) : value;
    },
    set: function (target, prop, value) {
      if (prop === "__timelines") {
        if (value === registry) return true;
        target.__timelines = value || {};
        registry = null;
        return true;
      }
      return Reflect.set(target, prop, value, target);
    },
  });
  var resolve = function (t) {
    if (typeof t === "string") return queryAll(t);
    if (!Array.isArray(t)) return t;
    return t.reduce(function (all, item) {
      if (typeof item === "string") return all.concat(Array.prototype.slice.call(queryAll(item)));
      all.push(item);
      return all;
    }, []);
  };
  var firstResolved = function (fn, self) {
    return function (first) {
      var args = Array.prototype.slice.call(arguments);
      args[0] = resolve(first);
      return fn.apply(self, args);
    };
  };
  var scopeTimeline = function (tl) {
    if (!tl || tl.__hfScopedCompositionRoot === findRoot()) return tl;
    ["to", "from", "fromTo", "set"].forEach(function (m) {
      if (typeof tl[m] === "function") tl[m] = firstResolved(tl[m], tl);
    });
    try { Object.defineProperty(tl, "__hfScopedCompositionRoot", { value: findRoot(), configurable: true }); } catch (e) {}
    return tl;
  };
  var baseGsap = typeof gsap === "undefined" ? window.gsap : gsap;
  var scopedGsap = !baseGsap ? baseGsap : new Proxy(baseGsap, {
    get: function (target, prop) {
      if (prop === "timeline") return function () { return scopeTimeline(target.timeline.apply(target, arguments)); };
      if (prop === "to" || prop === "from" || prop === "fromTo" || prop === "set") return firstResolved(target[prop], target);
      if (prop === "utils" && target.utils) {
        return new Proxy(target.utils, {
          get: function (utils, name) {
            if (name === "toArray") return firstResolved(utils.toArray, utils);
            if (name === "selector") {
              return function (base) {
                var r = (typeof base === "string" ? queryOne(base) : base) || findRoot();
                return function (sel) {
                  if (!r || typeof sel !== "string") return [];
                  return Array.prototype.filter.call(realDoc.querySelectorAll(normalize(sel)), function (n) {
                    return n === r || r.contains(n);
                  });
                };
              };
            }
            return bound(utils, name);
          },
        });
      }
      return bound(target, prop);
    },
  });
  findRoot();
  try {
    run.call(window, doc, scopedGsap, win, window.__hyperframes);
  } catch (err) {
    console.error("[framefan] composition script error:", cfg.comp, err);
  }
}"##;

/// One inline script of a mounted file as code for the shared script at the end of `<body>`.
pub fn wrap(source: &str, scope: Option<&Scope>) -> String {
    let source = escape_inline(source);
    match scope {
        Some(scope) => {
            // Serializing a plain struct of strings cannot fail; `<` is escaped so that no value
            // can close the script element.
            let cfg = serde_json::to_string(scope).unwrap_or_else(|_| "{}".into()).replace('<', "\\u003c");
            format!(
                "({PRELUDE})({cfg}, function (document, gsap, window, __hyperframes) {{\n{source}\n}});\n//# sourceURL=framefan-composition://{}\n",
                url_safe(&scope.timeline)
            )
        }
        None => format!(
            "(function () {{ try {{ (function () {{\n{source}\n}}).call(window); }} catch (err) {{ console.error(\"[framefan] composition script error:\", err); }} }})();\n"
        ),
    }
}

/// The shared script's text: the files' scripts in mount order, each ended so the next cannot
/// continue its last expression.
pub fn join(wrapped: &[String]) -> String {
    wrapped.join("\n;\n")
}

fn url_safe(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_is_passed_as_json_that_cannot_close_the_script() {
        let scope = Scope {
            comp: "a</script>".into(),
            timeline: "host".into(),
            scope: Some("[data-composition-id=\"host\"]".into()),
            authored_root: None,
        };
        let code = wrap("const x = '</script>';", Some(&scope));
        assert!(!code.to_ascii_lowercase().contains("</script"), "{code}");
        assert!(code.contains("\"comp\":\"a\\u003c/script>\""), "{code}");
        assert!(code.contains("function (document, gsap, window, __hyperframes) {\nconst x"), "{code}");
    }

    #[test]
    fn an_unscoped_file_still_runs_in_its_own_function() {
        let code = wrap("const tl = 1;", None);
        assert!(code.contains("(function () {\nconst tl = 1;\n}).call(window)"), "{code}");
        assert_eq!(join(&["a".into(), "b".into()]), "a\n;\nb");
    }
}
