//! Resolving `data-start` (composition.md §3).
//!
//! A start is seconds (`2.5`) or a reference to another clip's end: `clipId`, `clipId + n`,
//! `clipId - n`, meaning "when clip X ends, plus n" where X's end is its own resolved start plus
//! its `data-duration` (for a composition host without one, the duration of the composition it
//! mounts). Starts are relative to their composition, as authored; a reference is resolved the
//! same way, within the referenced clip's composition. Each reference is written back as a plain
//! decimal `data-start`, with the authored expression kept in `data-start-expr`, so the runtime
//! and every later pass read plain numbers. Arithmetic is exact on rationals; a cycle, an unknown
//! id, a referenced clip without a duration or a negative result is `COMPOSITION_INVALID` naming
//! the clip.

use std::collections::HashMap;

use kuchikiki::NodeRef;

use super::dom::{attr, describe, elements, in_template, set_attr};
use crate::error::{Code, Error, Result};
use crate::time::Rational;

/// The longest chain of references followed before giving up (a guard for the stack).
const MAX_CHAIN: usize = 256;

#[derive(Debug, Clone, PartialEq)]
enum Start {
    Seconds(Rational),
    After { id: String, offset: Rational },
}

enum State {
    Unvisited,
    Visiting,
    Done(Rational),
}

struct Resolver {
    elems: Vec<NodeRef>,
    exprs: Vec<Option<Start>>,
    by_id: HashMap<String, usize>,
    state: Vec<State>,
}

fn invalid(message: String) -> Error {
    Error::new(Code::CompositionInvalid, message)
}

/// Parse a decimal attribute (`data-duration`, `data-media-start` …) of `node`, if present.
pub fn decimal_attr(node: &NodeRef, name: &str) -> Result<Option<Rational>> {
    match attr(node, name) {
        None => Ok(None),
        Some(text) => Rational::parse_decimal(&text)
            .map(Some)
            .ok_or_else(|| invalid(format!("{} {name}={text:?} is not a number of seconds", describe(node)))),
    }
}

/// Resolve every `data-start` under `root` and write references back as plain decimals.
pub fn resolve(root: &NodeRef) -> Result<()> {
    let elems: Vec<NodeRef> = elements(root).into_iter().filter(|n| !in_template(n)).collect();
    let mut by_id = HashMap::new();
    for key in ["id", "data-composition-id"] {
        for (i, e) in elems.iter().enumerate() {
            if let Some(id) = attr(e, key) {
                by_id.entry(id).or_insert(i);
            }
        }
    }
    let exprs = elems
        .iter()
        .map(|e| {
            attr(e, "data-start").map(|t| parse_start(&t, &by_id).map_err(|m| invalid(format!("{} {m}", describe(e)))))
        })
        .map(Option::transpose)
        .collect::<Result<Vec<_>>>()?;
    let state = elems.iter().map(|_| State::Unvisited).collect();
    let mut r = Resolver { elems, exprs, by_id, state };
    for i in 0..r.elems.len() {
        if let Some(Start::After { .. }) = r.exprs[i] {
            let value = r.start(i, 0)?;
            let e = &r.elems[i];
            let authored = attr(e, "data-start").unwrap_or_default();
            set_attr(e, "data-start-expr", &authored);
            set_attr(e, "data-start", &format_decimal(value));
        }
    }
    Ok(())
}

/// Parse a start: a decimal, or `id`, `id + n`, `id - n`. An id that exists wins over reading a
/// trailing `-n` as an offset (ids may contain `-`).
fn parse_start(text: &str, ids: &HashMap<String, usize>) -> std::result::Result<Start, String> {
    let t = text.trim();
    if let Some(s) = Rational::parse_decimal(t) {
        return Ok(Start::Seconds(s));
    }
    if ids.contains_key(t) {
        return Ok(Start::After { id: t.to_string(), offset: Rational::ZERO });
    }
    if let Some(pos) = t.rfind(['+', '-']) {
        let (id, rest) = (t[..pos].trim(), t[pos + 1..].trim());
        if let (false, Some(n)) =
            (id.is_empty(), Rational::parse_decimal(rest).filter(|_| !rest.starts_with(['+', '-'])))
        {
            let offset = if t.as_bytes()[pos] == b'-' { Rational { num: -n.num, den: n.den } } else { n };
            return Ok(Start::After { id: id.to_string(), offset });
        }
    }
    if t.is_empty() {
        return Err("has an empty data-start".to_string());
    }
    Ok(Start::After { id: t.to_string(), offset: Rational::ZERO })
}

impl Resolver {
    fn start(&mut self, i: usize, depth: usize) -> Result<Rational> {
        match self.state[i] {
            State::Done(v) => return Ok(v),
            State::Visiting => {
                return Err(invalid(format!("{} is part of a data-start reference cycle", describe(&self.elems[i]))))
            }
            State::Unvisited => {}
        }
        if depth > MAX_CHAIN {
            return Err(invalid(format!(
                "{} starts after a chain of more than {MAX_CHAIN} clips",
                describe(&self.elems[i])
            )));
        }
        self.state[i] = State::Visiting;
        let value = match self.exprs[i].clone() {
            None => Rational::ZERO,
            Some(Start::Seconds(s)) => s,
            Some(Start::After { id, offset }) => {
                let Some(&j) = self.by_id.get(&id) else {
                    let who = describe(&self.elems[i]);
                    return Err(invalid(format!("{who} data-start refers to unknown clip {:?}", short(&id))));
                };
                let end = self.start(j, depth + 1)?.checked_add(self.duration(j, i)?);
                end.and_then(|e| e.checked_add(offset)).ok_or_else(|| self.overflow(i))?
            }
        };
        if value < Rational::ZERO {
            let who = describe(&self.elems[i]);
            return Err(invalid(format!(
                "{who} data-start resolves to {} s, before its composition starts",
                format_decimal(value)
            )));
        }
        self.state[i] = State::Done(value);
        Ok(value)
    }

    /// The duration of clip `j`, referenced by clip `by`.
    fn duration(&self, j: usize, by: usize) -> Result<Rational> {
        let e = &self.elems[j];
        if let Some(d) = decimal_attr(e, "data-duration")? {
            return Ok(d);
        }
        // A mounted sub-composition: the duration its root was written with (flattened into the
        // host, see `subcomp`), or that of a root that kept its identity (anonymous host).
        let flattened = e.children().find(|c| attr(c, super::subcomp::AUTHORED_DURATION_ATTR).is_some());
        if let Some(d) =
            flattened.map(|n| decimal_attr(&n, super::subcomp::AUTHORED_DURATION_ATTR)).transpose()?.flatten()
        {
            return Ok(d);
        }
        if let Some(id) = attr(e, "data-composition-id") {
            let inner = e.descendants().find(|d| attr(d, "data-composition-id").as_deref() == Some(id.as_str()));
            if let Some(d) = inner.map(|n| decimal_attr(&n, "data-duration")).transpose()?.flatten() {
                return Ok(d);
            }
        }
        Err(invalid(format!(
            "{} starts after {}, which has no data-duration, so its end is unknown",
            describe(&self.elems[by]),
            describe(e)
        )))
    }

    fn overflow(&self, i: usize) -> Error {
        invalid(format!("{} data-start is too large", describe(&self.elems[i])))
    }
}

fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

/// An exact plain decimal for `r` when its denominator divides a power of ten (every sum of
/// decimals does); otherwise the nearest value with nine decimals.
pub fn format_decimal(r: Rational) -> String {
    if r.den == 1 {
        return r.num.to_string();
    }
    let mut scale: i128 = 1;
    for digits in 1..=18 {
        scale *= 10;
        if scale % i128::from(r.den) == 0 {
            let scaled = i128::from(r.num) * (scale / i128::from(r.den));
            let sign = if scaled < 0 { "-" } else { "" };
            let (whole, frac) = (scaled.abs() / scale, scaled.abs() % scale);
            let frac = format!("{frac:0width$}", width = digits);
            return format!("{sign}{whole}.{}", frac.trim_end_matches('0'));
        }
    }
    let text = format!("{:.9}", r.to_f64());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kuchikiki::traits::TendrilSink;

    fn starts(html: &str) -> Result<Vec<(String, String)>> {
        let doc = kuchikiki::parse_html().one(html).document_node;
        resolve(&doc)?;
        Ok(elements(&doc)
            .iter()
            .filter_map(|e| Some((attr(e, "id")?, attr(e, "data-start").unwrap_or_default())))
            .collect())
    }

    #[test]
    fn references_resolve_to_ends_plus_offsets() {
        let got = starts(
            "<div id=intro data-start=1 data-duration=2.5></div><div id=a data-start='intro + 1'></div>\
             <div id=b-1 data-start='intro' data-duration=1></div><div id=c data-start='b-1 - 0.5'></div>",
        )
        .unwrap();
        let want = [("intro", "1"), ("a", "4.5"), ("b-1", "3.5"), ("c", "4")];
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn cycles_unknown_ids_and_missing_durations_fail() {
        let cycle = starts(
            "<div id=a data-start='b' data-duration=1></div><div id=b data-start='a + 1' data-duration=1></div>",
        );
        let err = cycle.unwrap_err();
        assert_eq!(err.code(), "COMPOSITION_INVALID");
        assert!(err.message().contains("cycle"), "{}", err.message());
        let unknown = starts("<div id=a data-start='nope + 2'></div>").unwrap_err();
        assert!(unknown.message().contains("\"nope\""), "{}", unknown.message());
        let open = starts("<div id=a></div><div id=b data-start='a'></div>").unwrap_err();
        assert!(open.message().contains("no data-duration"), "{}", open.message());
        let negative = starts("<div id=a data-duration=1></div><div id=b data-start='a - 2'></div>").unwrap_err();
        assert!(negative.message().contains("-1"), "{}", negative.message());
    }

    #[test]
    fn host_duration_falls_back_to_the_mounted_composition() {
        let got = starts(
            "<div id=h data-composition-id=x data-start=2><div data-composition-id=x data-duration=3></div></div>\
             <div id=n data-start='x'></div>",
        )
        .unwrap();
        assert!(got.contains(&("n".to_string(), "5".to_string())), "{got:?}");
    }

    #[test]
    fn decimals_format_exactly() {
        assert_eq!(format_decimal(Rational::int(3)), "3");
        assert_eq!(format_decimal(Rational { num: 9, den: 2 }), "4.5");
        assert_eq!(format_decimal(Rational { num: -1, den: 8 }), "-0.125");
        assert_eq!(format_decimal(Rational { num: 1, den: 3 }), "0.333333333");
    }
}
