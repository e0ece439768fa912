//! Free text that people type and the audit trail keeps: the purpose of a reveal or an export,
//! the reason for a decision. One validator for every such field, so that none of them can
//! carry what the trail must not hold.
//!
//! Invariants:
//! - A parsed value holds no control character (NUL included) and no invisible character
//!   (zero-width spaces and joiners, bidirectional overrides, soft hyphens, variation
//!   selectors, tag characters, blank fillers): control characters are refused, invisible ones
//!   removed, and runs of white space become one space. What the trail shows is what was
//!   meant, and no byte of it can make a database refuse the event (PostgreSQL's `jsonb`
//!   refuses `\u0000`).
//! - A [`Purpose`] has at least [`PURPOSE_MIN_VISIBLE`] visible characters once that is done,
//!   so three zero-width spaces or one letter are not a purpose.
//! - Reasons never quote the refused text.

use crate::values::Invalid;

/// Fewest visible (not blank, not invisible) characters a purpose must have.
pub const PURPOSE_MIN_VISIBLE: usize = 5;
/// Most characters a purpose or reason may have.
pub const TEXT_MAX: usize = 500;

/// Why someone needs to see data: a reveal's or an export's stated purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose(String);

impl Purpose {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let cleaned = clean(s, TEXT_MAX)?;
        let visible = cleaned.chars().filter(|c| !c.is_whitespace()).count();
        if visible < PURPOSE_MIN_VISIBLE {
            return Err(Invalid(format!("say why you need the data, in at least {PURPOSE_MIN_VISIBLE} visible characters")));
        }
        Ok(Self(cleaned))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional remark that reaches the trail (an approver's reason): cleaned like a purpose,
/// and possibly empty.
pub fn remark(s: &str) -> Result<String, Invalid> {
    clean(s, TEXT_MAX)
}

/// Refuses control characters and over-long text; drops invisible characters; collapses white
/// space; trims.
fn clean(s: &str, max: usize) -> Result<String, Invalid> {
    if s.chars().any(char::is_control) {
        return Err(Invalid("must not contain control characters (line breaks, tabs, NUL)".into()));
    }
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for c in s.chars().filter(|c| !is_invisible(*c)) {
        if c.is_whitespace() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push(' ');
            blank = false;
        }
        out.push(c);
    }
    if out.chars().count() > max {
        return Err(Invalid(format!("must be at most {max} characters")));
    }
    Ok(out)
}

/// Characters that render as nothing (or that reorder what surrounds them): Unicode format
/// characters and the blank fillers that are letters only in name.
pub fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD                  // soft hyphen
        | 0x034F                // combining grapheme joiner
        | 0x061C                // Arabic letter mark
        | 0x115F | 0x1160       // Hangul fillers
        | 0x17B4 | 0x17B5       // Khmer inherent vowels
        | 0x180B..=0x180F       // Mongolian selectors and vowel separator
        | 0x200B..=0x200F       // zero-width space, joiners, direction marks
        | 0x202A..=0x202E       // bidirectional embeddings and overrides
        | 0x2060..=0x206F       // word joiner, invisible operators, bidi isolates
        | 0x2800                // braille blank
        | 0x3164 | 0xFFA0       // Hangul fillers
        | 0xFE00..=0xFE0F       // variation selectors
        | 0xFEFF                // zero-width no-break space (BOM)
        | 0xFFF0..=0xFFF8
        | 0x1D173..=0x1D17A     // musical formatting
        | 0xE0000..=0xE007F     // tag characters
        | 0xE0100..=0xE01EF // variation selectors supplement
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn purposes_need_visible_characters() {
        for bad in [
            "",
            "   ",
            "a",
            "\u{200b}\u{200b}\u{200b}",
            "ab\u{200b}\u{200b}\u{200b}\u{200b}c",
            "a b c d",
            "\u{2800}\u{2800}\u{2800}\u{2800}\u{2800}",
        ] {
            assert!(Purpose::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Purpose::parse("  contract\u{200b}  signature ").unwrap().as_str(), "contract signature");
        assert_eq!(Purpose::parse("ticket 1234").unwrap().as_str(), "ticket 1234");
        assert_eq!(Purpose::parse("Łódź\u{202e}xyz").unwrap().as_str(), "Łódźxyz", "bidi overrides are dropped");
    }

    #[test]
    fn control_characters_are_refused_not_stored() {
        for bad in ["contract\0signature", "contract\nsignature", "bell\u{7} rings", "del\u{7f}ete it", "tab\there please"] {
            let e = Purpose::parse(bad).unwrap_err().0;
            assert!(e.contains("control characters") && !e.contains("contract"), "{bad:?}: {e}");
            assert!(remark(bad).is_err());
        }
        assert_eq!(remark("").unwrap(), "");
        assert!(remark(&"x".repeat(TEXT_MAX + 1)).is_err());
        assert!(Purpose::parse(&"ż".repeat(TEXT_MAX)).is_ok());
    }
}
