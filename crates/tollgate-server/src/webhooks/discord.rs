//! The `discord` format: the event as a message a Discord channel webhook shows, one line of
//! `content` and one embed whose fields are the event's data, within Discord's limits (content
//! 2000 characters, embed title 256, description 4096, field name 256 and value 1024, 25
//! fields, 6000 characters over the whole embed). License keys are masked, and the message
//! mentions nobody whatever a username says.

use serde_json::{json, Map, Value};

const CONTENT_MAX: usize = 2000;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FIELDS_MAX: usize = 25;
const EMBED_MAX: usize = 6000;
/// A field value this short is shown inline (side by side with its neighbours).
const INLINE_MAX: usize = 40;

/// What a kind of event is called in the message, and its embed's colour.
fn title_and_color(event: &str) -> (&'static str, u32) {
    match event {
        "user.register" => ("User registered", 0x2ecc71),
        "user.login" => ("User logged in", 0x3498db),
        "user.ban" => ("User banned", 0xe74c3c),
        "license.activate" => ("License activated", 0x1abc9c),
        "license.expire" => ("License expired", 0xe67e22),
        "license.delete" => ("License deleted", 0x95a5a6),
        "file.download" => ("File downloaded", 0x9b59b6),
        "session.create" => ("Session opened", 0x34495e),
        "webhook.test" => ("Test event from Tollgate", 0x5865f2),
        _ => ("Event", 0x99aab5),
    }
}

/// `ABCD…WXYZ`: the first and last four characters of a license key; a key of 8 characters or
/// fewer shows nothing of itself.
pub fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "…".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// At most `max` characters, the last one `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One line: line breaks become spaces.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect()
}

/// A data value as the text of a field; license keys masked, never empty.
fn field_value(name: &str, v: &Value) -> String {
    let text = match v {
        Value::String(s) if name == "key" => mask_key(s),
        Value::String(s) => s.clone(),
        Value::Null => "—".to_owned(),
        other => other.to_string(),
    };
    if text.trim().is_empty() {
        "—".to_owned()
    } else {
        text
    }
}

/// Who or what the event is about, for the one-line `content`.
fn subject(data: &Map<String, Value>) -> Option<String> {
    let text = |k: &str| data.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    text("username")
        .map(str::to_owned)
        .or_else(|| text("key").map(mask_key))
        .or_else(|| text("name").map(str::to_owned))
        .or_else(|| text("message").map(str::to_owned))
        .or_else(|| text("sessionId").map(str::to_owned))
}

/// The Discord body for a standard body `{event, timestamp, data}`.
pub fn body(standard: &str) -> String {
    let v: Value = serde_json::from_str(standard).unwrap_or(Value::Null);
    let event = v["event"].as_str().unwrap_or("event");
    let empty = Map::new();
    let data = v["data"].as_object().unwrap_or(&empty);
    let (title, color) = title_and_color(event);
    let content = match subject(data) {
        Some(s) => format!("**{title}**: {}", one_line(&s)),
        None => format!("**{title}**"),
    };
    let description = match data.get("appId").and_then(Value::as_str) {
        Some(app) => format!("`{event}` in app `{app}`"),
        None => format!("`{event}`"),
    };
    let title = cut(title, TITLE_MAX);
    let description = cut(&description, DESCRIPTION_MAX);
    let mut used = title.chars().count() + description.chars().count();
    let mut fields = Vec::new();
    for (name, value) in data {
        if fields.len() == FIELDS_MAX {
            break;
        }
        let name = cut(name, FIELD_NAME_MAX);
        let value = cut(&field_value(&name, value), FIELD_VALUE_MAX);
        let size = name.chars().count() + value.chars().count();
        if used + size > EMBED_MAX {
            break;
        }
        used += size;
        let inline = value.chars().count() <= INLINE_MAX;
        fields.push(json!({ "name": name, "value": value, "inline": inline }));
    }
    let mut embed = json!({ "title": title, "description": description, "color": color, "fields": fields });
    if let Some(ts) = v["timestamp"].as_str() {
        embed["timestamp"] = json!(ts);
    }
    json!({
        "username": "Tollgate",
        "content": cut(&content, CONTENT_MAX),
        "embeds": [embed],
        "allowed_mentions": { "parse": [] },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked_to_their_ends() {
        assert_eq!(mask_key("ABCD-EFGH-IJKL-MNOP"), "ABCD…MNOP");
        assert_eq!(mask_key("SHORTKEY"), "…");
        assert_eq!(mask_key(""), "…");
    }

    #[test]
    fn a_license_event_becomes_one_embed_with_the_key_masked() {
        let standard = json!({
            "event": "license.activate",
            "timestamp": "2026-01-02T03:04:05.000Z",
            "data": {"licenseId": "lic_1", "key": "ABCD-EFGH-IJKL-MNOP", "level": 2, "hwid": null, "appId": "app_1"}
        })
        .to_string();
        let v: Value = serde_json::from_str(&body(&standard)).unwrap();
        assert_eq!(v["username"], "Tollgate");
        assert_eq!(v["content"], "**License activated**: ABCD…MNOP");
        let e = &v["embeds"][0];
        assert_eq!(e["title"], "License activated");
        assert_eq!(e["timestamp"], "2026-01-02T03:04:05.000Z");
        assert_eq!(e["description"], "`license.activate` in app `app_1`");
        let fields = e["fields"].as_array().unwrap();
        let get = |n: &str| fields.iter().find(|f| f["name"] == n).unwrap()["value"].clone();
        assert_eq!(get("key"), "ABCD…MNOP");
        assert_eq!(get("level"), "2");
        assert_eq!(get("hwid"), "—");
        assert!(!v.to_string().contains("EFGH"));
        assert_eq!(v["allowed_mentions"]["parse"], json!([]));
    }

    #[test]
    fn limits_hold_whatever_the_data() {
        let mut data = Map::new();
        for i in 0..40 {
            data.insert(format!("f{i:02}"), json!("x".repeat(3000)));
        }
        data.insert("username".into(), json!(format!("@everyone\n{}", "y".repeat(5000))));
        let standard =
            json!({"event": "user.login", "timestamp": "2026-01-02T03:04:05.000Z", "data": data}).to_string();
        let v: Value = serde_json::from_str(&body(&standard)).unwrap();
        let content = v["content"].as_str().unwrap();
        assert!(content.chars().count() <= 2000 && !content.contains('\n'), "{}", content.len());
        let fields = v["embeds"][0]["fields"].as_array().unwrap();
        assert!(!fields.is_empty() && fields.len() <= 25);
        let mut total = v["embeds"][0]["title"].as_str().unwrap().chars().count()
            + v["embeds"][0]["description"].as_str().unwrap().chars().count();
        for f in fields {
            let value = f["value"].as_str().unwrap();
            assert!(value.chars().count() <= 1024);
            assert_eq!(f["inline"], false);
            total += value.chars().count() + f["name"].as_str().unwrap().chars().count();
        }
        assert!(total <= 6000, "{total}");
    }

    #[test]
    fn an_unreadable_body_still_makes_a_message() {
        let v: Value = serde_json::from_str(&body("not json")).unwrap();
        assert_eq!(v["content"], "**Event**");
        assert_eq!(v["embeds"][0]["fields"], json!([]));
    }
}
