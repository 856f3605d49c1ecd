//! License key generation: `PREFIX-XXXX-XXXX-XXXX` or a seller's mask.
//!
//! Random characters come from an alphabet without look-alikes: no `0`/`O` and no `1`/`I`/`L`,
//! so a key read aloud or typed from paper comes out right. Keys are generated in upper case
//! only (prefixes are upper-cased, masks must be upper case), and lookups by key ignore case,
//! so a customer typing in lower case is still matched.
//!
//! Uniqueness per app is the store's job (a unique constraint, and a fresh batch on a clash);
//! the generator only has to make collisions vanishingly rare, which is why a mask must carry
//! enough random positions: 31 characters give log2(31) ≈ 4.95 bits each, so the 12 random
//! positions a mask needs at least (and the 12 after a prefix) are 31^12 ≈ 7.9e17 keys
//! (≈ 59.4 bits) per shape, and the 16 of a key without prefix 31^16 ≈ 7.3e23 (≈ 79.3 bits).
//! An app already holding ten million keys of one shape meets a clash in a new batch of 100
//! about once in 790 million batches, and the batch is then simply made again.

use crate::ids::random_from;

/// `A-Z` and `2-9` without `O`, `I` and `L` (and without `0` and `1`): 31 characters.
pub const KEY_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Random positions a mask needs at least: 31^12 ≈ 7.9e17 keys per shape.
pub const MIN_MASK_RANDOM: usize = 12;
pub const MAX_MASK_LEN: usize = 64;
pub const MAX_PREFIX_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyShape {
    /// `PREFIX-XXXX-XXXX-XXXX`, or `XXXX-XXXX-XXXX-XXXX` with no prefix. The prefix is kept in
    /// upper case.
    Prefixed(Option<String>),
    /// Every `X` becomes a random character of [`KEY_ALPHABET`]; anything else stays as written.
    Mask(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyShapeError {
    #[error("prefix must be 1-16 letters, digits or underscores")]
    BadPrefix,
    #[error("mask must be at most 64 characters of A-Z, 0-9, '-' or '_' with at least 12 'X'")]
    BadMask,
}

impl KeyShape {
    pub fn new(prefix: Option<&str>, mask: Option<&str>) -> Result<Self, KeyShapeError> {
        if let Some(mask) = mask.filter(|m| !m.is_empty()) {
            let ok_chars = mask.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            let randoms = mask.bytes().filter(|&b| b == b'X').count();
            if !ok_chars || mask.len() > MAX_MASK_LEN || randoms < MIN_MASK_RANDOM {
                return Err(KeyShapeError::BadMask);
            }
            return Ok(KeyShape::Mask(mask.to_owned()));
        }
        match prefix.filter(|p| !p.is_empty()) {
            None => Ok(KeyShape::Prefixed(None)),
            Some(p) => {
                let ok = p.len() <= MAX_PREFIX_LEN && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if ok {
                    Ok(KeyShape::Prefixed(Some(p.to_ascii_uppercase())))
                } else {
                    Err(KeyShapeError::BadPrefix)
                }
            }
        }
    }

    pub fn generate(&self) -> String {
        match self {
            KeyShape::Prefixed(prefix) => {
                let groups: Vec<String> = (0..3).map(|_| random_from(KEY_ALPHABET, 4)).collect();
                let body = groups.join("-");
                match prefix {
                    Some(p) => format!("{p}-{body}"),
                    None => format!("{}-{body}", random_from(KEY_ALPHABET, 4)),
                }
            }
            KeyShape::Mask(mask) => {
                let randoms = random_from(KEY_ALPHABET, mask.len());
                mask.chars().zip(randoms.chars()).map(|(m, r)| if m == 'X' { r } else { m }).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_shape() {
        let k = KeyShape::new(Some("VIP"), None).unwrap().generate();
        let parts: Vec<&str> = k.split('-').collect();
        assert_eq!(parts[0], "VIP");
        assert_eq!(parts.len(), 4);
        assert!(parts[1..]
            .iter()
            .all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())));
    }

    #[test]
    fn no_prefix_has_four_random_groups() {
        let k = KeyShape::new(None, None).unwrap().generate();
        assert_eq!(k.len(), 19);
        assert_eq!(k.split('-').count(), 4);
    }

    #[test]
    fn mask_keeps_literals() {
        let shape = KeyShape::new(None, Some("XXXXX-XXXXX-XXXXX-XXXXX-XXXXX")).unwrap();
        let k = shape.generate();
        assert_eq!(k.len(), 29);
        assert_eq!(k.as_bytes()[5], b'-');
        let k2 = KeyShape::new(Some("IGNORED"), Some("ZZ-XXXXXXXXXXXX")).unwrap().generate();
        assert!(k2.starts_with("ZZ-"));
    }

    fn no_look_alikes(key: &str) -> bool {
        !key.bytes().any(|b| b"0O1IL".contains(&b))
    }

    #[test]
    fn alphabet_has_no_look_alikes() {
        assert_eq!(KEY_ALPHABET.len(), 31);
        assert!(no_look_alikes(std::str::from_utf8(KEY_ALPHABET).unwrap()));
        let distinct: std::collections::HashSet<&u8> = KEY_ALPHABET.iter().collect();
        assert_eq!(distinct.len(), 31);
        let plain = KeyShape::new(None, None).unwrap();
        let masked = KeyShape::new(None, Some("XXXXXXXXXXXXXXXXXXXXXXXX")).unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            for k in [plain.generate(), masked.generate()] {
                assert!(no_look_alikes(&k), "{k}");
                seen.extend(k.bytes().filter(|b| *b != b'-'));
            }
        }
        assert_eq!(seen.len(), 31, "every character of the alphabet shows up");
    }

    #[test]
    fn prefix_is_upper_cased() {
        assert_eq!(KeyShape::new(Some("vip_x1"), None), Ok(KeyShape::Prefixed(Some("VIP_X1".into()))));
        let k = KeyShape::new(Some("shop"), None).unwrap().generate();
        assert!(k.starts_with("SHOP-"), "{k}");
        assert_eq!(k, k.to_ascii_uppercase());
    }

    #[test]
    fn bad_shapes_rejected() {
        assert_eq!(KeyShape::new(Some("bad prefix"), None), Err(KeyShapeError::BadPrefix));
        assert_eq!(KeyShape::new(Some("A".repeat(17).as_str()), None), Err(KeyShapeError::BadPrefix));
        assert_eq!(KeyShape::new(None, Some("XXXX-XXXX")), Err(KeyShapeError::BadMask));
        assert_eq!(KeyShape::new(None, Some("xxxxxxxxxxxxxxxx")), Err(KeyShapeError::BadMask));
        assert_eq!(KeyShape::new(None, Some(&"X".repeat(65))), Err(KeyShapeError::BadMask));
    }

    #[test]
    fn keys_do_not_repeat() {
        let shape = KeyShape::new(Some("T"), None).unwrap();
        let set: std::collections::HashSet<String> = (0..10_000).map(|_| shape.generate()).collect();
        assert_eq!(set.len(), 10_000);
    }
}
