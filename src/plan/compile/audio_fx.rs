//! Reading HyperFrames' audio effects off the page: a clip's `data-fx-chain` and
//! `data-automation`, the `<hf-audio-group>` buses its `data-audio-group` names, and the master
//! bus chain on the root (`data-fx-chain` on the first `[data-composition-id]`).
//!
//! What HyperFrames refuses (bad JSON, another version, an unknown effect type, an unreadable
//! lane) is `COMPOSITION_INVALID` naming the element and attribute. A member whose group has no
//! `<hf-audio-group>` element is mixed through a plain bus (gain 1, no effects), as HyperFrames
//! does; a group element with `data-hidden` silences all its members.

use std::collections::HashMap;
use std::sync::Arc;

use kuchikiki::NodeRef;

use super::dom::{attr, describe, elements, has_attr, in_template, tag};
use crate::error::{Code, Error, Result};
use crate::plan::fx::{Automation, FxChain};
use crate::plan::model::{AudioGroup, ClipFx};

/// The attribute holding a chain.
pub const FX_CHAIN_ATTR: &str = "data-fx-chain";
/// The attribute holding automation lanes.
pub const AUTOMATION_ATTR: &str = "data-automation";
/// The attribute naming a member's group.
pub const GROUP_ATTR: &str = "data-audio-group";

fn invalid(e: &NodeRef, name: &str, why: String) -> Error {
    Error::new(Code::CompositionInvalid, format!("{} {name}: {why}", describe(e)))
}

/// The chain in `e`'s `data-fx-chain`, checked.
pub fn chain_of(e: &NodeRef) -> Result<Option<FxChain>> {
    attr(e, FX_CHAIN_ATTR).map(|json| FxChain::parse(&json).map_err(|w| invalid(e, FX_CHAIN_ATTR, w))).transpose()
}

/// `e`'s chain and automation, checked.
pub fn clip_fx(e: &NodeRef) -> Result<ClipFx> {
    let automation = attr(e, AUTOMATION_ATTR)
        .map(|json| Automation::parse(&json).map_err(|w| invalid(e, AUTOMATION_ATTR, w)))
        .transpose()?;
    Ok(ClipFx { chain: chain_of(e)?, automation })
}

/// The master bus chain: `data-fx-chain` on the root composition element.
pub fn master_chain(root: &NodeRef) -> Result<Option<FxChain>> {
    chain_of(root)
}

/// A group element as read: the group (or why its effects are refused) and whether it is hidden.
pub type GroupEntry = (std::result::Result<Arc<AudioGroup>, String>, bool);

/// The page's `<hf-audio-group id>` elements by id (the first of an id wins). A group whose
/// effects HyperFrames would refuse fails the plan only once an audible member uses it, as
/// HyperFrames reads a group's effects only when it mixes it.
pub fn groups(doc: &NodeRef) -> HashMap<String, GroupEntry> {
    let mut out = HashMap::new();
    for e in elements(doc).into_iter().filter(|e| tag(e) == "hf-audio-group" && !in_template(e)) {
        let Some(id) = attr(&e, "id").filter(|i| !i.is_empty()) else { continue };
        let volume = attr(&e, "data-volume").and_then(|v| leading_float(&v)).unwrap_or(1.0);
        let group = clip_fx(&e)
            .map(|fx| Arc::new(AudioGroup { id: id.clone(), volume: volume as f32, fx }))
            .map_err(|err| err.message().to_string());
        out.entry(id).or_insert((group, has_attr(&e, "data-hidden")));
    }
    out
}

/// The group `e` is a member of and whether that group is hidden; an error when `audible` and
/// the group's effects are refused.
pub fn group_of(
    e: &NodeRef,
    groups: &HashMap<String, GroupEntry>,
    audible: bool,
) -> Result<Option<(Arc<AudioGroup>, bool)>> {
    let Some(id) = attr(e, GROUP_ATTR).filter(|g| !g.is_empty()) else { return Ok(None) };
    let plain = || Arc::new(AudioGroup { id: id.clone(), volume: 1.0, fx: ClipFx::default() });
    match groups.get(&id) {
        None => Ok(Some((plain(), false))),
        Some((Ok(group), hidden)) => Ok(Some((Arc::clone(group), *hidden))),
        Some((Err(why), false)) if audible => Err(Error::new(Code::CompositionInvalid, why.clone())),
        Some((Err(_), hidden)) => Ok(Some((plain(), *hidden))),
    }
}

/// JavaScript's `parseFloat`: the longest leading decimal number, if finite.
pub fn leading_float(text: &str) -> Option<f64> {
    let t = text.trim_start();
    let end = (1..=t.len()).rev().find(|&n| t.is_char_boundary(n) && t[..n].parse::<f64>().is_ok())?;
    t[..end].parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_float_reads_a_prefix() {
        assert_eq!(leading_float(" 0.5dB"), Some(0.5));
        assert_eq!(leading_float("x"), None);
    }
}
