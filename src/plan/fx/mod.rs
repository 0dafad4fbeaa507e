//! HyperFrames' audio effects as a plan reads them: `data-fx-chain` (an ordered list of effect
//! nodes) and `data-automation` (envelopes on volume and effect parameters), on clips, on
//! `<hf-audio-group>` buses and (the chain only) on the root as the master bus.
//!
//! framefan checks each attribute as HyperFrames 0.8.170's `parseAudioFxChain` and
//! `parseAutomation` do (JSON, `version` 1, a known effect type for every node, a readable target
//! for every lane): what HyperFrames refuses fails the plan with `COMPOSITION_INVALID` naming the
//! element and attribute. What HyperFrames normalises (unknown or out-of-range parameters,
//! misplaced points) is left to its own runtime: the text is handed to it as written. framefan
//! itself reads only what the mix around the runtime needs: whether any node is enabled, the
//! tail the chain rings on for ([`FxChain::tail_seconds`]), the volume lane
//! ([`Automation::volume_envelope`]) and the rate lane's clock ([`rate`]).

pub mod automation;
pub mod rate;

use serde_json::Value;

pub(crate) use automation::number;
pub use automation::{mix_gain, Automation, Envelope};

/// Every effect type HyperFrames 0.8.170 defines.
pub const EFFECT_TYPES: [&str; 17] = [
    "gain",
    "peaking",
    "lowshelf",
    "highshelf",
    "highpass",
    "lowpass",
    "compressor",
    "limiter",
    "truepeak",
    "gate",
    "saturate",
    "bitcrush",
    "pitchshift",
    "delay",
    "chorus",
    "phaser",
    "reverb",
];

/// HyperFrames caps a chain's tail (`MAX_FX_TAIL_SECONDS`).
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
const MAX_TAIL_SECONDS: f64 = 5.0;

/// A tail ends when a repeat falls below this level (−60 dB, `TAIL_FLOOR`).
const TAIL_FLOOR: f64 = 1e-3;

/// One effect node: what the mix needs of it.
#[derive(Debug, Clone, PartialEq)]
pub struct FxNode {
    /// The effect type, one of [`EFFECT_TYPES`].
    pub kind: String,
    /// The node's id (automation lanes name it), when it has one.
    pub id: Option<String>,
    /// `false` when the node is bypassed.
    pub enabled: bool,
    /// The parameters as written.
    pub params: serde_json::Map<String, Value>,
}

/// A checked `data-fx-chain`.
#[derive(Debug, Clone, PartialEq)]
pub struct FxChain {
    /// The attribute's text, handed to HyperFrames' runtime as it is.
    pub json: String,
    /// The nodes in signal order.
    pub nodes: Vec<FxNode>,
}

fn version_is_one(obj: &serde_json::Map<String, Value>) -> bool {
    obj.get("version").and_then(Value::as_f64) == Some(1.0)
}

impl FxChain {
    /// Check `json` as HyperFrames' `parseAudioFxChain` does; the error says what is wrong.
    pub fn parse(json: &str) -> Result<FxChain, String> {
        let raw: Value = serde_json::from_str(json).map_err(|e| format!("not valid JSON: {e}"))?;
        let obj = raw.as_object().ok_or("must be a JSON object")?;
        if !version_is_one(obj) {
            return Err(format!("unsupported chain version: {}", obj.get("version").unwrap_or(&Value::Null)));
        }
        let nodes = obj.get("nodes").and_then(Value::as_array).ok_or("missing a `nodes` array")?;
        let nodes = nodes.iter().enumerate().map(|(i, n)| node(i, n)).collect::<Result<_, _>>()?;
        Ok(FxChain { json: json.to_string(), nodes })
    }

    /// Whether any node is enabled: a chain of bypassed nodes is not rendered at all.
    pub fn has_enabled(&self) -> bool {
        self.nodes.iter().any(|n| n.enabled)
    }

    /// How long the chain rings on after its input ends (HyperFrames' `chainTailSeconds`):
    /// reverb, delay, chorus and pitch shift nodes that are enabled and audible, summed, capped
    /// at 5 s. A parameter an automation lane moves counts at the lane's highest point.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn tail_seconds(&self, automation: Option<&Automation>) -> f64 {
        let total: f64 = self.nodes.iter().filter(|n| n.enabled).map(|n| node_tail(n, automation)).sum();
        total.min(MAX_TAIL_SECONDS)
    }

    /// How long the chain remembers its input (HyperFrames' `chainWarmupSeconds`), the pre-roll
    /// a segment of a long input is rendered from: for each enabled node at its written
    /// parameters, a reverb's room (wet > 0), a delay's repeats to −60 dB (mix > 0) and the
    /// release of a compressor, limiter, true-peak limiter or gate to −60 dB (`ln 1000 ·
    /// release`), summed in node order.
    pub fn warmup_seconds(&self) -> f64 {
        let decay = 1000f64.ln();
        self.nodes.iter().filter(|n| n.enabled).fold(0.0, |sum, n| {
            let k = |key| knob(n, key, None);
            sum + match n.kind.as_str() {
                "reverb" if k("wet") > 0.0 => 0.6 + k("size").clamp(0.0, 1.0) * 2.6,
                "delay" if k("mix") > 0.0 => delay_tail(k("time"), k("feedback")),
                "compressor" | "limiter" | "truepeak" | "gate" => decay * k("release") / 1000.0,
                _ => 0.0,
            }
        })
    }
}

fn node(i: usize, n: &Value) -> Result<FxNode, String> {
    let obj = n.as_object().ok_or_else(|| format!("node {i} is not an object"))?;
    let kind = obj.get("type").and_then(Value::as_str).filter(|t| EFFECT_TYPES.contains(t));
    let Some(kind) = kind else {
        return Err(format!("node {i} has unknown effect type: {}", obj.get("type").unwrap_or(&Value::Null)));
    };
    Ok(FxNode {
        kind: kind.to_string(),
        id: obj.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string),
        enabled: obj.get("enabled") != Some(&Value::Bool(false)),
        params: obj.get("params").and_then(Value::as_object).cloned().unwrap_or_default(),
    })
}

/// The range and default of the parameters a tail depends on (HyperFrames' effect table).
fn param_range(kind: &str, key: &str) -> Option<(f64, f64, f64)> {
    Some(match (kind, key) {
        ("reverb", "size") => (0.05, 1.0, 0.7),
        ("reverb", "wet") => (0.0, 1.0, 0.35),
        ("delay", "time") => (1.0, 5000.0, 250.0),
        ("delay", "feedback") => (0.01, 0.95, 0.35),
        ("delay", "mix") => (0.0, 1.0, 0.4),
        ("chorus", "delay") => (1.0, 100.0, 7.0),
        ("chorus", "mix") => (0.0, 1.0, 0.5),
        ("pitchshift", "mix") => (0.0, 1.0, 1.0),
        ("compressor", "release") => (0.01, 9000.0, 250.0),
        ("limiter", "release") => (1.0, 8000.0, 50.0),
        ("truepeak", "release") => (10.0, 2000.0, 80.0),
        ("gate", "release") => (0.01, 9000.0, 100.0),
        _ => return None,
    })
}

/// A parameter's value for the tail: the automation lane's highest point, else the static value.
fn knob(node: &FxNode, key: &str, automation: Option<&Automation>) -> f64 {
    let Some((min, max, default)) = param_range(&node.kind, key) else { return 0.0 };
    let lane = node.id.as_ref().and_then(|id| automation?.lane(&format!("fx.{id}.{key}")));
    if let Some(lane) = lane.filter(|l| !l.points.is_empty()) {
        return lane.points.iter().map(|p| p.v.clamp(min, max)).fold(f64::NEG_INFINITY, f64::max);
    }
    number(node.params.get(key)).map_or(default, |v| v.clamp(min, max))
}

#[cfg_attr(not(feature = "internals"), allow(dead_code))]
fn node_tail(node: &FxNode, automation: Option<&Automation>) -> f64 {
    let k = |key| knob(node, key, automation);
    match node.kind.as_str() {
        "reverb" if k("wet") > 0.0 => 0.6 + k("size").clamp(0.0, 1.0) * 2.6,
        "delay" if k("mix") > 0.0 => delay_tail(k("time"), k("feedback")),
        "chorus" if k("mix") > 0.0 => k("delay") / 1000.0,
        "pitchshift" if k("mix") > 0.0 => 0.2,
        _ => 0.0,
    }
}

/// Seconds until a delay's repeats fall below [`TAIL_FLOOR`].
fn delay_tail(time_ms: f64, feedback: f64) -> f64 {
    let gap = (time_ms / 1000.0).min(5.0);
    if gap <= 0.0 {
        return 0.0;
    }
    let fb = feedback.clamp(0.0, 0.999);
    if fb <= 0.0 {
        return gap;
    }
    (TAIL_FLOOR.ln() / fb.ln()).ceil() * gap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_hyperframes_parses() {
        let chain = FxChain::parse(r#"{"version":1,"nodes":[{"type":"lowpass","id":"n1","params":{"frequency":800}},{"type":"gain","enabled":false}]}"#).unwrap();
        assert_eq!(chain.nodes.len(), 2);
        assert!(chain.has_enabled());
        assert_eq!(chain.nodes[0].id.as_deref(), Some("n1"));
        assert!(!chain.nodes[1].enabled);
        assert_eq!(chain.tail_seconds(None), 0.0);
    }

    #[test]
    fn refuses_what_hyperframes_refuses() {
        for bad in
            ["{", "[]", r#"{"version":2,"nodes":[]}"#, r#"{"version":1}"#, r#"{"version":1,"nodes":[{"type":"fuzz"}]}"#]
        {
            assert!(FxChain::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tails_follow_hyperframes() {
        let chain = FxChain::parse(r#"{"version":1,"nodes":[{"type":"reverb","params":{"size":0.5}},{"type":"delay","params":{"time":100,"feedback":0.5}}]}"#).unwrap();
        // reverb 0.6 + 1.3, delay ceil(ln 1e-3 / ln 0.5) = 10 repeats of 0.1 s.
        assert!((chain.tail_seconds(None) - 2.9).abs() < 1e-9);
        let long = FxChain::parse(r#"{"version":1,"nodes":[{"type":"delay","params":{"time":2000,"feedback":0.9}}]}"#)
            .unwrap();
        assert_eq!(long.tail_seconds(None), 5.0);
    }

    #[test]
    fn warmup_follows_hyperframes() {
        let chain = FxChain::parse(r#"{"version":1,"nodes":[{"type":"reverb","params":{"size":0.5}},{"type":"compressor"},{"type":"gate","params":{"release":"20000"}},{"type":"limiter","enabled":false},{"type":"chorus"}]}"#).unwrap();
        // 0.6 + 1.3, then ln 1000 · 0.25 s (default release), then ln 1000 · 9 s (clamped).
        let want = 0.6 + 0.5 * 2.6 + 1000f64.ln() * 250.0 / 1000.0 + 1000f64.ln() * 9000.0 / 1000.0;
        assert!((chain.warmup_seconds() - want).abs() < 1e-12);
    }
}
