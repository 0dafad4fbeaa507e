//! The fixed font table HyperFrames renders with: which family names map to which of its ~18
//! bundled families (the `@fontsource/*` npm packages), and which faces of each it embeds.
//!
//! The facts are HyperFrames' (its `packages/parsers/src/fontAliases.ts` and the canonical face
//! list of `packages/producer/src/services/deterministicFonts.ts`); this is our own table of them.
//! Only the upright faces listed are embedded: an italic is synthesised by the browser from the
//! upright face, as it is in HyperFrames.

/// A bundled family: its `@fontsource/<slug>` package, display name and upright weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bundled {
    /// The npm package's name after `@fontsource/`, and the file-name prefix of its faces.
    pub slug: &'static str,
    /// The family's own name.
    pub name: &'static str,
    /// The weights embedded (style normal).
    pub weights: &'static [u16],
}

const W3: &[u16] = &[400, 700, 900];
const W2: &[u16] = &[400, 700];
const W1: &[u16] = &[400];

/// HyperFrames' bundled families.
pub const BUNDLED: [Bundled; 18] = [
    Bundled { slug: "inter", name: "Inter", weights: W3 },
    Bundled { slug: "montserrat", name: "Montserrat", weights: W3 },
    Bundled { slug: "outfit", name: "Outfit", weights: W3 },
    Bundled { slug: "nunito", name: "Nunito", weights: W3 },
    Bundled { slug: "oswald", name: "Oswald", weights: W2 },
    Bundled { slug: "league-gothic", name: "League Gothic", weights: W1 },
    Bundled { slug: "archivo-black", name: "Archivo Black", weights: W1 },
    Bundled { slug: "space-mono", name: "Space Mono", weights: W2 },
    Bundled { slug: "ibm-plex-mono", name: "IBM Plex Mono", weights: W2 },
    Bundled { slug: "jetbrains-mono", name: "JetBrains Mono", weights: W2 },
    Bundled { slug: "eb-garamond", name: "EB Garamond", weights: W2 },
    Bundled { slug: "playfair-display", name: "Playfair Display", weights: W3 },
    Bundled { slug: "source-code-pro", name: "Source Code Pro", weights: W2 },
    Bundled { slug: "noto-sans-jp", name: "Noto Sans JP", weights: W2 },
    Bundled { slug: "roboto", name: "Roboto", weights: W3 },
    Bundled { slug: "open-sans", name: "Open Sans", weights: W2 },
    Bundled { slug: "lato", name: "Lato", weights: W3 },
    Bundled { slug: "poppins", name: "Poppins", weights: W3 },
];

/// Family names (lowercase) that stand for a bundled family other than their own, by slug.
const ALIASES: &[(&str, &str)] = &[
    // Common names → the nearest bundled family.
    ("helvetica neue", "inter"),
    ("helvetica", "inter"),
    ("arial", "inter"),
    ("helvetica bold", "inter"),
    ("futura", "montserrat"),
    ("din alternate", "montserrat"),
    ("arial black", "montserrat"),
    ("bebas neue", "league-gothic"),
    ("courier new", "jetbrains-mono"),
    ("courier", "jetbrains-mono"),
    ("garamond", "eb-garamond"),
    ("noto sans japanese", "noto-sans-jp"),
    ("segoe ui", "roboto"),
    // Sans-serif system fonts of macOS, Windows and Linux → Inter.
    ("sf pro", "inter"),
    ("sf pro display", "inter"),
    ("sf pro text", "inter"),
    ("sf pro rounded", "inter"),
    ("avenir", "inter"),
    ("avenir next", "inter"),
    ("lucida grande", "inter"),
    ("geneva", "inter"),
    ("optima", "inter"),
    ("verdana", "inter"),
    ("tahoma", "inter"),
    ("trebuchet ms", "inter"),
    ("calibri", "inter"),
    ("candara", "inter"),
    ("corbel", "inter"),
    ("lucida sans", "inter"),
    ("lucida sans unicode", "inter"),
    ("noto sans", "inter"),
    ("dejavu sans", "inter"),
    ("liberation sans", "inter"),
    // Monospace system fonts → JetBrains Mono.
    ("sf mono", "jetbrains-mono"),
    ("menlo", "jetbrains-mono"),
    ("monaco", "jetbrains-mono"),
    ("consolas", "jetbrains-mono"),
    ("lucida console", "jetbrains-mono"),
    ("lucida sans typewriter", "jetbrains-mono"),
    ("andale mono", "jetbrains-mono"),
    ("dejavu sans mono", "jetbrains-mono"),
    ("liberation mono", "jetbrains-mono"),
    // Serif system fonts → EB Garamond.
    ("georgia", "eb-garamond"),
    ("palatino", "eb-garamond"),
    ("palatino linotype", "eb-garamond"),
    ("book antiqua", "eb-garamond"),
    ("cambria", "eb-garamond"),
    ("times", "eb-garamond"),
    ("times new roman", "eb-garamond"),
    ("dejavu serif", "eb-garamond"),
    ("liberation serif", "eb-garamond"),
];

/// CSS generic families and system-UI keywords (lowercase). They are never resolved themselves;
/// a stack that *starts* with one gets the primary family [`GENERIC_PRIMARY`] in front of it.
pub const GENERIC: [&str; 14] = [
    "sans-serif",
    "serif",
    "monospace",
    "cursive",
    "fantasy",
    "system-ui",
    "ui-sans-serif",
    "ui-serif",
    "ui-monospace",
    "emoji",
    "math",
    "fangsong",
    "-apple-system",
    "blinkmacsystemfont",
];

/// The family put in front of a stack that starts with a generic family.
pub const GENERIC_PRIMARY: &str = "Inter";

/// Whether `family` (any case) is a generic family or system-UI keyword.
pub fn is_generic(family: &str) -> bool {
    let lower = family.trim().to_ascii_lowercase();
    GENERIC.contains(&lower.as_str())
}

/// The bundled family `family` (any case) renders as, if any: its own, or its alias's.
pub fn bundled_for(family: &str) -> Option<&'static Bundled> {
    let lower = family.trim().to_lowercase();
    let slug = ALIASES.iter().find(|(alias, _)| *alias == lower).map(|(_, slug)| *slug);
    BUNDLED.iter().find(|b| Some(b.slug) == slug || b.name.to_lowercase() == lower)
}

/// The `unicode-range` HyperFrames' compiler declares on every bundled face (its
/// `BUNDLED_SUBSET_UNICODE_RANGE`; [`LATIN_SUBSET`] is the same set as ranges).
pub const BUNDLED_UNICODE_RANGE: &str = "U+0000-00FF, U+0131, U+0152-0153, U+02BB-02BC, U+02C6, U+02DA, \
U+02DC, U+0304, U+0308, U+0329, U+2000-206F, U+2074, U+20AC, U+2122, U+2191, U+2193, U+2212, U+2215, U+FEFF, U+FFFD";

/// The code points every bundled face covers (the `latin` subset of `@fontsource`), as inclusive
/// ranges. Text outside them falls back to the machine's fonts.
pub const LATIN_SUBSET: [(u32, u32); 20] = [
    (0x0000, 0x00FF),
    (0x0131, 0x0131),
    (0x0152, 0x0153),
    (0x02BB, 0x02BC),
    (0x02C6, 0x02C6),
    (0x02DA, 0x02DA),
    (0x02DC, 0x02DC),
    (0x0304, 0x0304),
    (0x0308, 0x0308),
    (0x0329, 0x0329),
    (0x2000, 0x206F),
    (0x2074, 0x2074),
    (0x20AC, 0x20AC),
    (0x2122, 0x2122),
    (0x2191, 0x2191),
    (0x2193, 0x2193),
    (0x2212, 0x2212),
    (0x2215, 0x2215),
    (0xFEFF, 0xFEFF),
    (0xFFFD, 0xFFFD),
];

/// Whether the bundled faces draw `c`.
pub fn in_latin_subset(c: char) -> bool {
    let cp = c as u32;
    LATIN_SUBSET.iter().any(|&(lo, hi)| (lo..=hi).contains(&cp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_canonical_names_resolve() {
        assert_eq!(bundled_for("DejaVu Sans").map(|b| b.name), Some("Inter"));
        assert_eq!(bundled_for("ARIAL").map(|b| b.name), Some("Inter"));
        assert_eq!(bundled_for("Futura").map(|b| b.name), Some("Montserrat"));
        assert_eq!(bundled_for("Menlo").map(|b| b.name), Some("JetBrains Mono"));
        assert_eq!(bundled_for("jetbrains mono").map(|b| b.slug), Some("jetbrains-mono"));
        assert_eq!(bundled_for("Times New Roman").map(|b| b.name), Some("EB Garamond"));
        assert_eq!(bundled_for("Comic Sans MS"), None);
        assert!(is_generic("Sans-Serif") && is_generic("-apple-system") && !is_generic("Inter"));
        assert!(ALIASES.iter().all(|(_, slug)| BUNDLED.iter().any(|b| b.slug == *slug)));
    }

    #[test]
    fn the_declared_range_is_the_latin_subset() {
        let ranges: Vec<(u32, u32)> = BUNDLED_UNICODE_RANGE
            .split(", ")
            .map(|r| {
                let r = r.trim_start_matches("U+");
                let (lo, hi) = r.split_once('-').unwrap_or((r, r));
                (u32::from_str_radix(lo, 16).unwrap(), u32::from_str_radix(hi, 16).unwrap())
            })
            .collect();
        assert_eq!(ranges, LATIN_SUBSET);
    }

    #[test]
    fn latin_subset() {
        assert!(in_latin_subset('é') && in_latin_subset('—') && in_latin_subset('€'));
        assert!(!in_latin_subset('中') && !in_latin_subset('😀') && !in_latin_subset('Ā'));
    }
}
