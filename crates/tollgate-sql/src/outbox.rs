//! What both backends' webhook outboxes compute the same way: which webhooks an event goes to,
//! the delivery rows it becomes, and the columns an attempt's outcome writes.

use std::collections::BTreeMap;

use tollgate_core::events::Event;
use tollgate_core::ids::{self, prefix};
use tollgate_core::model::{DeliveryAttempt, DeliveryState};
use tollgate_store::{AttemptOutcome, DeliveryRecord, StoreError, StoreResult};

use crate::encode::ms;

/// One delivery to insert: `PENDING`, no attempt yet, due at the event's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: String,
    pub webhook_id: String,
    pub app_id: String,
    pub event: &'static str,
    pub payload: String,
    /// Unix milliseconds of the event: both its `created_at` and its `next_attempt_at`.
    pub at: i64,
}

/// The state every new delivery has.
pub const PENDING: &str = "PENDING";

/// The apps `events` happened in, each once, in the order they first appear.
pub fn apps_of(events: &[Event]) -> Vec<&str> {
    let mut apps: Vec<&str> = Vec::new();
    for e in events {
        if !apps.contains(&e.app_id.as_str()) {
            apps.push(&e.app_id);
        }
    }
    apps
}

/// The deliveries of the events of `app_id` to `hooks`, the app's enabled webhooks as
/// `(id, events column)`: one per event and per webhook subscribed to its kind.
pub fn deliveries_for(app_id: &str, events: &[Event], hooks: &[(String, String)]) -> StoreResult<Vec<NewDelivery>> {
    let mut subscribed: Vec<(&str, Vec<String>)> = Vec::with_capacity(hooks.len());
    for (id, list) in hooks {
        let kinds: Vec<String> =
            serde_json::from_str(list).map_err(|e| StoreError::Other(format!("invalid JSON in column events: {e}")))?;
        subscribed.push((id, kinds));
    }
    let mut out = Vec::new();
    for event in events.iter().filter(|e| e.app_id == app_id) {
        let kind = event.kind.as_str();
        let mut body = None;
        for (hook_id, kinds) in &subscribed {
            if kinds.iter().any(|k| k == kind) {
                let payload = body.get_or_insert_with(|| event.body()).clone();
                out.push(NewDelivery {
                    id: ids::new_id(prefix::DELIVERY),
                    webhook_id: (*hook_id).to_owned(),
                    app_id: app_id.to_owned(),
                    event: kind,
                    payload,
                    at: ms(&event.at),
                });
            }
        }
    }
    Ok(out)
}

/// What an attempt's outcome writes on its delivery: the state, whether `failures` starts over
/// (else it counts one more), and `next_attempt_at`.
pub fn outcome_columns(outcome: AttemptOutcome) -> (&'static str, bool, Option<i64>) {
    match outcome {
        AttemptOutcome::Delivered => (DeliveryState::Delivered.as_str(), true, None),
        AttemptOutcome::Retry { at } => (DeliveryState::Pending.as_str(), false, Some(ms(&at))),
        AttemptOutcome::Failed => (DeliveryState::Failed.as_str(), false, None),
    }
}

/// Give each delivery its attempts (`attempts` in number order, of any of them).
pub fn with_attempts(
    deliveries: Vec<tollgate_core::model::Delivery>,
    attempts: Vec<DeliveryAttempt>,
) -> Vec<DeliveryRecord> {
    let mut by_delivery: BTreeMap<String, Vec<DeliveryAttempt>> = BTreeMap::new();
    for a in attempts {
        by_delivery.entry(a.delivery_id.clone()).or_default().push(a);
    }
    deliveries
        .into_iter()
        .map(|delivery| {
            let attempts = by_delivery.remove(&delivery.id).unwrap_or_default();
            DeliveryRecord { delivery, attempts }
        })
        .collect()
}

/// A status code as the column stores it.
pub fn status_code(code: Option<u16>) -> Option<i64> {
    code.map(i64::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::events::EventKind;

    #[test]
    fn fan_out_follows_app_and_kind() {
        let at = tollgate_core::time::from_millis(1_700_000_000_000);
        let events = vec![
            Event::new("a", EventKind::UserLogin, at, serde_json::json!({})),
            Event::new("b", EventKind::UserLogin, at, serde_json::json!({})),
            Event::new("a", EventKind::UserBan, at, serde_json::json!({})),
        ];
        assert_eq!(apps_of(&events), vec!["a", "b"]);
        let hooks = vec![
            ("h1".to_owned(), r#"["user.login","user.ban"]"#.to_owned()),
            ("h2".to_owned(), r#"["user.ban"]"#.to_owned()),
            ("h3".to_owned(), "[]".to_owned()),
        ];
        let d = deliveries_for("a", &events, &hooks).unwrap();
        let got: Vec<(&str, &str)> = d.iter().map(|d| (d.webhook_id.as_str(), d.event)).collect();
        assert_eq!(got, vec![("h1", "user.login"), ("h1", "user.ban"), ("h2", "user.ban")]);
        assert_eq!(d[0].payload, events[0].body());
        assert_eq!(d[0].at, 1_700_000_000_000);
        assert!(d[0].id.starts_with("whmsg_"), "{}", d[0].id);
        assert!(deliveries_for("a", &events, &[("h".into(), "not json".into())]).is_err());
    }
}
