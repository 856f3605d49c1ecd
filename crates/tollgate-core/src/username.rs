//! Usernames (end users and resellers): which characters a name may hold, and the key two names
//! are compared by.
//!
//! A username is shown as its owner typed it (trimmed), but two names are the same account name
//! when their [`key`]s are equal. The key is the Unicode TS #39 confusable skeleton of the
//! NFKC-normalised, lowercased name, lowercased again: `GoodUser`, `ｇｏｏｄuser` (fullwidth) and
//! `gооduser` (Cyrillic о) all have the key `gooduser`, so only the first of them can register and
//! each of them signs in as that account. Characters that are invisible or reorder the text
//! (controls, zero-width and bidirectional formatting characters) are refused outright, and so is
//! a name that mixes scripts the way spoofs do (`gооducer` with Cyrillic о among Latin letters).

use unicode_normalization::UnicodeNormalization;
use unicode_script::Script;
use unicode_security::mixed_script::AugmentedScriptSet;

/// Characters a username may not contain: controls (general category Cc), line and paragraph
/// separators, and the format characters (Cf) — zero-width spaces and joiners, bidirectional
/// embeddings, overrides and isolates, the byte-order mark, soft hyphen, invisible operators and
/// the tag characters. Each of them can make two different names look the same or hide text.
pub fn is_refused_char(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// Why a username is refused, `None` when it is acceptable: 1 to 64 characters after trimming,
/// none of them [refused](is_refused_char).
pub fn problem(name: &str) -> Option<&'static str> {
    let n = name.chars().count();
    if n == 0 || n > 64 {
        return Some("must be 1 to 64 characters");
    }
    if name.chars().any(is_refused_char) {
        return Some("must not contain control, zero-width or bidirectional formatting characters");
    }
    None
}

/// Why a name is refused for a new account: [`problem`], or a mix of scripts that spoofs use.
/// Names are only held to this when they are taken, so an account made before the rule can
/// still sign in.
pub fn problem_for_new(name: &str) -> Option<&'static str> {
    problem(name).or_else(|| {
        (!script_mix_allowed(name))
            .then_some("must not mix writing systems (such as Latin with Cyrillic or Greek letters)")
    })
}

/// Unicode TS #39's "moderately restrictive" level: one script (digits, punctuation and marks
/// count for every script), or Latin with Han and Japanese kana, Han and Bopomofo, Han and Hangul,
/// or with one other recommended script that is neither Cyrillic nor Greek — the two whose
/// letters pass for Latin ones.
pub fn script_mix_allowed(name: &str) -> bool {
    let mut all = AugmentedScriptSet::default();
    let mut besides_latin = AugmentedScriptSet::default();
    for c in name.chars() {
        let set = AugmentedScriptSet::for_char(c);
        all.intersect_with(set);
        if !set.base.contains_script(Script::Latin) {
            besides_latin.intersect_with(set);
        }
    }
    if !all.is_empty() || besides_latin.kore || besides_latin.hanb || besides_latin.jpan {
        return true;
    }
    let mut scripts = besides_latin.base.iter();
    match (scripts.next(), scripts.next()) {
        (Some(s), None) => s.is_recommended() && s != Script::Cyrillic && s != Script::Greek,
        _ => false,
    }
}

/// The comparison key of a username: lowercase(skeleton(lowercase(NFKC(name.trim())))).
///
/// Lowercasing is Rust's full Unicode lowercase mapping, which stands in for case folding. The
/// skeleton maps every character to the prototype of its confusable class (Cyrillic `о` → `o`,
/// `0` → `O`, `rn` → `m`), so names that look alike read the same; it is deliberately strict.
pub fn key(name: &str) -> String {
    let folded: String = name.trim().nfkc().collect::<String>().to_lowercase();
    unicode_security::skeleton(&folded).collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_share_a_key() {
        let base = key("gooduser");
        assert_eq!(base, "gooduser");
        for alike in ["GoodUser", "ＧＯＯＤuser", "ｇooduser", "g\u{043e}\u{043e}duser", " gooduser ", "g00duser"]
        {
            assert_eq!(key(alike), base, "{alike}");
        }
        assert_ne!(key("gooduser2"), base);
        assert_ne!(key("baduser"), base);
    }

    #[test]
    fn invisible_and_reordering_characters_are_refused() {
        for bad in [
            "good\u{200b}user",
            "good\u{200d}user",
            "ab\u{202e}cd",
            "ab\u{2066}cd",
            "\u{feff}bob",
            "bo\u{0}b",
            "bo\u{7}b",
            "bo\u{2028}b",
            "bo\u{e0041}b",
        ] {
            assert!(problem(bad).is_some(), "{bad:?}");
        }
        // Cyrillic о among Latin letters; Greek ο likewise.
        for mixed in ["g\u{043e}\u{043e}ducer", "g\u{043e}oduser", "p\u{03bf}st"] {
            assert!(problem_for_new(mixed).is_some(), "{mixed:?}");
            assert_eq!(problem(mixed), None, "an existing account can still sign in");
        }
        for good in ["bob", "José", "山田", "o'brien", "a b", "иван", "иван_2", "Ταρώ", "yamada山田たろう", "bob-123"]
        {
            assert_eq!(problem_for_new(good), None, "{good}");
        }
        assert!(problem("").is_some());
        assert!(problem(&"x".repeat(65)).is_some());
    }
}
