//! Canonical JSON: the one text of a JSON value that signed responses are computed over.
//!
//! The official Authly Python SDK (`authlyx-api` 2.2.0) parses a response body and re-serializes
//! it with `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` before
//! checking the signature, so a signature only verifies if it was made over exactly those bytes.
//! [`canonical_json`] produces them (see `docs/dialects/signing.md`):
//!
//! - no whitespace; `,` between items, `:` after keys;
//! - object keys sorted by Unicode code point (Python's `str` order, which is also the byte
//!   order of UTF-8, so `str::cmp`), whatever order the `Map` iterates in;
//! - strings: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other characters below U+0020 as
//!   `\u00XX` (lower-case hex), everything else raw: non-ASCII, U+007F, U+2028/U+2029 and `/`
//!   are not escaped;
//! - integers as their decimal digits; floating-point numbers as Python's `repr(float)`
//!   ([`python_float_repr`]): `1.0`, `0.1`, `1e+16`, `1e-05`, `-0.0`.

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// The canonical text of `value`, byte-identical to Python's
/// `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` of the same
/// value parsed from JSON.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Sorted here, not trusted to the map: with serde_json's `preserve_order` feature
            // (turned on by any crate in the build) a `Map` iterates in insertion order.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        out.push_str(&python_float_repr(f));
    }
}

/// Python's `json` string escaping with `ensure_ascii=False`.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `repr(f)` in Python 3: the shortest digits that read back as `f`, in fixed notation when
/// `1e-4 <= |f| < 1e16` (always with a fractional part, `100.0`), else in exponent notation
/// with a signed exponent of at least two digits (`1e+16`, `1.5e-07`). Python's `json` prints
/// the non-finite values as `NaN`, `Infinity` and `-Infinity` (JSON itself has no such values;
/// serde_json cannot hold them).
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    // Rust's `{:e}` prints the shortest round-tripping digits as `d.ddde<exp>`: Python's repr
    // has as many digits. Which ones differs on a tie (the exact value halfway between two
    // shortest candidates, 2229082426495920.25): Rust's shortest mode rounds it up, Python's
    // repr to even. Rust's exact mode also rounds to even, so the digits are the exact value
    // rounded to that many places.
    let shortest = format!("{:e}", f.abs());
    let places = shortest.split_once('e').map_or(0, |(m, _)| m.chars().filter(char::is_ascii_digit).count());
    let sci = format!("{:.*e}", places.saturating_sub(1), f.abs());
    let Some((mantissa, exp)) = sci.split_once('e') else { return f.to_string() };
    let Ok(exp) = exp.parse::<i32>() else { return f.to_string() };
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    // The value is 0.DIGITS x 10^point, as Python's `format_float_short` counts it.
    let point = exp + 1;

    let mut out = String::with_capacity(digits.len() + 8);
    if f < 0.0 {
        out.push('-');
    }
    if point <= -4 || point > 16 {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs());
    } else if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else if point < n {
        let (int, frac) = digits.split_at(point.unsigned_abs() as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (point - n).unsigned_abs() as usize));
        out.push_str(".0");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Every expected string below was printed by CPython 3.11:
    //   json.dumps(json.loads(TEXT), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    #[test]
    fn scalars() {
        assert_eq!(canonical_json(&json!(null)), "null");
        assert_eq!(canonical_json(&json!(true)), "true");
        assert_eq!(canonical_json(&json!(false)), "false");
        assert_eq!(canonical_json(&json!(0)), "0");
        assert_eq!(canonical_json(&json!(-42)), "-42");
        assert_eq!(canonical_json(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(canonical_json(&json!(i64::MIN)), "-9223372036854775808");
        assert_eq!(canonical_json(&json!("")), r#""""#);
    }

    #[test]
    fn nested_objects_and_arrays_sort_keys_without_spaces() {
        let v: Value = serde_json::from_str(
            r#"{"b": 1, "a": [1, 2, {"z": null, "y": true, "x": false}], "c": {"k2": [], "k1": {}}}"#,
        )
        .unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":[1,2,{"x":false,"y":true,"z":null}],"b":1,"c":{"k1":{},"k2":[]}}"#);
    }

    #[test]
    fn unicode_is_left_raw() {
        let v = json!({"b": "é", "a": "😀 emoji", "c": "中文 汉字", "d": "a\u{2028}b\u{2029}c", "e": "\u{7f}/"});
        // Python: {"a":"😀 emoji","b":"é","c":"中文 汉字","d":"a\u2028b\u2029c","e":"\x7f/"} with
        // U+2028, U+2029 and U+007F as raw characters.
        assert_eq!(
            canonical_json(&v),
            "{\"a\":\"😀 emoji\",\"b\":\"é\",\"c\":\"中文 汉字\",\"d\":\"a\u{2028}b\u{2029}c\",\"e\":\"\u{7f}/\"}"
        );
    }

    #[test]
    fn control_characters_quotes_and_backslash_are_escaped_like_python() {
        let v = json!({"ctl": "\u{0}\u{1}\u{1f}\u{8}\u{c}\n\r\t\"\\", "esc": "\u{1b}[0m"});
        assert_eq!(canonical_json(&v), r#"{"ctl":"\u0000\u0001\u001f\b\f\n\r\t\"\\","esc":"\u001b[0m"}"#);
    }

    #[test]
    fn keys_sort_by_code_point_not_utf16() {
        // UTF-16 order (JavaScript, C#) would put U+1F600 (a surrogate pair, 0xD83D...) before
        // U+E000; Python compares code points.
        let v = json!({"\u{1F600}": 2, "\u{E000}": 1, "Z": 3, "a": 4, "": 5, "aa": 6, "a b": 7, "é": 8});
        assert_eq!(canonical_json(&v), "{\"\":5,\"Z\":3,\"a\":4,\"a b\":7,\"aa\":6,\"é\":8,\"\u{E000}\":1,\"😀\":2}");
    }

    #[test]
    fn key_order_of_the_map_does_not_matter() {
        let mut forward = serde_json::Map::new();
        let mut backward = serde_json::Map::new();
        let keys = ["zeta", "alpha", "Mu", "beta", "_", "0"];
        for k in keys {
            forward.insert(k.to_owned(), json!(k));
        }
        for k in keys.iter().rev() {
            backward.insert((*k).to_owned(), json!(k));
        }
        let expected = r#"{"0":"0","Mu":"Mu","_":"_","alpha":"alpha","beta":"beta","zeta":"zeta"}"#;
        assert_eq!(canonical_json(&Value::Object(forward)), expected);
        assert_eq!(canonical_json(&Value::Object(backward)), expected);
    }

    #[test]
    fn floats_print_as_python_repr() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (5.0, "5.0"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (0.30000000000000004, "0.30000000000000004"),
            (123456.789, "123456.789"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e16, "1e+16"),
            (12345678901234567890.0, "1.2345678901234567e+19"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (1e-4, "0.0001"),
            (0.00012345, "0.00012345"),
            (1e-5, "1e-05"),
            (2.5e-5, "2.5e-05"),
            (1.5e-7, "1.5e-07"),
            (1.2345e-100, "1.2345e-100"),
            (5e-324, "5e-324"),
            (-1e16, "-1e+16"),
            (-0.00001, "-1e-05"),
            // Ties between two shortest candidates go to the even digit, as in Python.
            (2229082426495920.0 + 0.25, "2229082426495920.2"),
            (2229082426495920.0 + 0.75, "2229082426495920.8"),
            (-2229082426495920.0 - 0.25, "-2229082426495920.2"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float_repr(*f), *want, "{f:e}");
            assert_eq!(canonical_json(&json!(f)), *want, "{f:e}");
        }
        assert_eq!(python_float_repr(f64::NAN), "NaN");
        assert_eq!(python_float_repr(f64::INFINITY), "Infinity");
        assert_eq!(python_float_repr(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn numbers_parsed_from_json_keep_python_types() {
        // Python keeps `1.0` and `1e2` floats and `10` an int; serde_json does the same.
        let v: Value = serde_json::from_str(r#"[1.0, 1e2, 10, 1E+16, 2.50]"#).unwrap();
        assert_eq!(canonical_json(&v), "[1.0,100.0,10,1e+16,2.5]");
        // One difference in parsing, harmless for what we sign: serde_json reads `-0` as the float
        // -0.0 where Python reads the int 0. What matters is the text we send, and serde_json
        // writes that value as `-0.0`, which Python reads back as the float -0.0.
        let v: Value = serde_json::from_str("-0").unwrap();
        assert_eq!((canonical_json(&v).as_str(), serde_json::to_string(&v).unwrap().as_str()), ("-0.0", "-0.0"));
    }

    #[test]
    fn a_typical_response() {
        let v = json!({
            "success": true,
            "message": "Login successful",
            "code": "OK",
            "session_id": "9f0c",
            "user": {"username": "Zoë", "subscription": "Premium 💎", "subscription_level": 1,
                     "expiry_date": null, "devices": ["a", "b"]},
            "update": {"available": false}
        });
        assert_eq!(
            canonical_json(&v),
            r#"{"code":"OK","message":"Login successful","session_id":"9f0c","success":true,"update":{"available":false},"user":{"devices":["a","b"],"expiry_date":null,"subscription":"Premium 💎","subscription_level":1,"username":"Zoë"}}"#
        );
    }

    #[test]
    fn output_parses_back_to_the_same_value() {
        let v = json!({"a": [1, 2.5, "x\u{0}y", {"b": null}], "é": -1e-7, "😀": [true, false, 1e300]});
        let text = canonical_json(&v);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }
}
