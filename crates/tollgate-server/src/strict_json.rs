//! The one JSON reader for request bodies of every API (admin and client dialects).
//!
//! It parses into a `serde_json::Value` like `serde_json::from_slice`, but refuses, at any depth:
//!
//! - an object with the same key twice (`{"secret":"WRONG","secret":"real"}`): whichever copy
//!   a reader keeps, the sender and the server may disagree on what was asked;
//! - a string or key holding U+0000: PostgreSQL cannot store it in a text column, SQLite would
//!   silently cut it in some tools, and no legitimate field needs it. Refusing it here, for every
//!   field of every route, makes both backends answer the same 400 before anything is written.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonProblem {
    /// Not JSON at all; the detail says where (`line 1 column 5`).
    Syntax(String),
    /// A key appears twice in one object; `path` is the object's key path and the key.
    DuplicateKey { path: String },
    /// A string (or key) holds U+0000; `path` names the field.
    NulCharacter { path: String },
}

impl JsonProblem {
    /// The field the problem is about (`body` for the whole document).
    pub fn path(&self) -> &str {
        match self {
            JsonProblem::Syntax(_) => "body",
            JsonProblem::DuplicateKey { path } | JsonProblem::NulCharacter { path } => path,
        }
    }

    pub fn message(&self) -> String {
        match self {
            JsonProblem::Syntax(detail) => format!("Request body is not valid JSON: {detail}"),
            JsonProblem::DuplicateKey { .. } => "appears more than once".to_owned(),
            JsonProblem::NulCharacter { .. } => "must not contain NUL (U+0000) characters".to_owned(),
        }
    }
}

/// Parse `bytes` as one JSON document, refusing duplicate keys and NUL characters.
pub fn parse(bytes: &[u8]) -> Result<Value, JsonProblem> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Seed { path: String::new(), found: &found }.deserialize(&mut de).and_then(|v| {
        de.end()?;
        Ok(v)
    });
    match parsed {
        Ok(v) => Ok(v),
        Err(e) => Err(found
            .into_inner()
            .unwrap_or_else(|| JsonProblem::Syntax(format!("line {} column {}", e.line(), e.column())))),
    }
}

struct Seed<'a> {
    path: String,
    found: &'a RefCell<Option<JsonProblem>>,
}

impl Seed<'_> {
    fn child(&self, segment: &str) -> String {
        if self.path.is_empty() {
            segment.to_owned()
        } else if segment.starts_with('[') {
            format!("{}{segment}", self.path)
        } else {
            format!("{}.{segment}", self.path)
        }
    }

    fn fail<E: de::Error>(&self, problem: JsonProblem) -> E {
        let msg = problem.message();
        *self.found.borrow_mut() = Some(problem);
        E::custom(msg)
    }

    fn path_or_body(&self) -> String {
        if self.path.is_empty() {
            "body".to_owned()
        } else {
            self.path.clone()
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        if v.contains('\0') {
            return Err(self.fail(JsonProblem::NulCharacter { path: self.path_or_body() }));
        }
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        if v.contains('\0') {
            return Err(self.fail(JsonProblem::NulCharacter { path: self.path_or_body() }));
        }
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let seed = Seed { path: self.child(&format!("[{}]", out.len())), found: self.found };
            match seq.next_element_seed(seed)? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key.contains('\0') {
                // The key itself is not echoed: the object holding it is named.
                return Err(self.fail(JsonProblem::NulCharacter { path: self.path_or_body() }));
            }
            let path = self.child(&key);
            if out.contains_key(&key) {
                return Err(self.fail(JsonProblem::DuplicateKey { path }));
            }
            let value = map.next_value_seed(Seed { path, found: self.found })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let text = br#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":"\u00e9\ud83d\ude00","d":18446744073709551615}"#;
        assert_eq!(parse(text).unwrap(), serde_json::from_slice::<Value>(text).unwrap());
        assert_eq!(parse(b" 7 ").unwrap(), Value::from(7));
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        let e = parse(br#"{"secret":"WRONG","secret":"real"}"#).unwrap_err();
        assert_eq!(e, JsonProblem::DuplicateKey { path: "secret".into() });
        let e = parse(br#"{"a":[{"b":{"c":1,"c":2}}]}"#).unwrap_err();
        assert_eq!(e, JsonProblem::DuplicateKey { path: "a[0].b.c".into() });
        // The same key in different objects is fine.
        assert!(parse(br#"{"a":{"k":1},"b":{"k":1}}"#).is_ok());
    }

    #[test]
    fn refuses_nul_in_strings_and_keys() {
        let e = parse(br#"{"hwid":"a\u0000b"}"#).unwrap_err();
        assert_eq!(e, JsonProblem::NulCharacter { path: "hwid".into() });
        let e = parse(br#"{"x":{"list":["ok","\u0000"]}}"#).unwrap_err();
        assert_eq!(e, JsonProblem::NulCharacter { path: "x.list[1]".into() });
        let e = parse(br#"{"a\u0000":1}"#).unwrap_err();
        assert_eq!(e.path(), "body");
        assert_eq!(parse(br#""\u0000""#).unwrap_err().path(), "body");
    }

    #[test]
    fn syntax_errors_say_where() {
        assert!(matches!(parse(br#"{"a":"#), Err(JsonProblem::Syntax(_))));
        assert!(matches!(parse(br#"{"a":1} x"#), Err(JsonProblem::Syntax(_))));
        assert!(matches!(parse(b""), Err(JsonProblem::Syntax(_))));
    }
}
