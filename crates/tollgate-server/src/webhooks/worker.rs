//! The delivery worker every server runs: it looks for due deliveries when the store announces
//! new ones (`Invalidation::WebhooksDue`) and once a second besides, takes as many as it has free
//! slots under a lease (so no other worker, here or on another node, takes them meanwhile),
//! sends each in its own task, and records the attempt with what it means for the delivery
//! (delivered, retried later, failed for good) and for the webhook's endpoint (healthy,
//! failing, disabled after failing for too long).

use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tollgate_core::events::should_disable;
use tollgate_core::time::{now, rfc3339, Timestamp};
use tollgate_store::{AttemptOutcome, Claim, EndpointHealth, Invalidation};

use super::Sent;
use crate::config::WebhookConfig;
use crate::state::AppState;

/// How often the worker looks for due deliveries without being told.
const TICK: Duration = Duration::from_secs(1);
/// A lease runs this much past the receiver's timeout, so a worker that stops mid-send leaves
/// its deliveries to another after a while, and never while it may still be sending.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// What an attempt means for its delivery and its webhook. `failing_since` is the webhook's,
/// `failures` the delivery's failed attempts in a row before this one, `now` when it ended.
pub fn judge(
    config: &WebhookConfig,
    failing_since: Option<Timestamp>,
    failures: u32,
    sent: &Sent,
    attempted_at: Timestamp,
    now: Timestamp,
) -> (AttemptOutcome, EndpointHealth) {
    if sent.ok() {
        return (AttemptOutcome::Delivered, EndpointHealth::Healthy);
    }
    let outcome = match config.retry_schedule.after_failures(failures.saturating_add(1)) {
        Some(wait) => {
            AttemptOutcome::Retry { at: now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX) }
        }
        None => AttemptOutcome::Failed,
    };
    let since = failing_since.unwrap_or(attempted_at);
    let health = if should_disable(since, now, config.disable_after) {
        EndpointHealth::Disable {
            reason: format!(
                "Every delivery has failed since {}; the last attempt at {}: {}",
                rfc3339(&since),
                rfc3339(&attempted_at),
                sent.summary()
            ),
        }
    } else {
        EndpointHealth::Failing
    };
    (outcome, health)
}

/// Start the worker; it stops when `stop` turns true or its sender is dropped.
pub fn spawn(state: &AppState, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut feed = Some(state.store.subscribe());
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { break },
                () = announced(&mut feed) => {}
                _ = tick.tick() => {}
            }
            if !drain(&state, &mut stop).await {
                break;
            }
        }
        tracing::debug!("webhook worker stopped");
    })
}

/// Resolves when deliveries may be due: announced, or notifications were lost. Never resolves
/// once the feed is gone (the tick takes over).
async fn announced(feed: &mut Option<broadcast::Receiver<Invalidation>>) {
    let Some(rx) = feed else { return std::future::pending().await };
    loop {
        match rx.recv().await {
            Ok(Invalidation::WebhooksDue | Invalidation::All) | Err(broadcast::error::RecvError::Lagged(_)) => return,
            Ok(_) => continue,
            Err(broadcast::error::RecvError::Closed) => {
                *feed = None;
                return std::future::pending().await;
            }
        }
    }
}

/// Take and start sending due deliveries until none is left or every slot is busy with a full
/// batch taken; `false` when told to stop.
async fn drain(state: &AppState, stop: &mut watch::Receiver<bool>) -> bool {
    let hooks = &state.webhooks;
    loop {
        // wait for one free slot, then take every free one
        let first = tokio::select! {
            permit = hooks.slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return false,
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return false;
                }
                continue;
            }
        };
        let mut permits = vec![first];
        while let Ok(p) = hooks.slots.clone().try_acquire_owned() {
            permits.push(p);
        }
        let wanted = permits.len();
        let at = now();
        let lease = tollgate_core::ids::random_hex(16);
        let until =
            at + chrono::Duration::from_std(hooks.config.timeout + LEASE_MARGIN).unwrap_or(chrono::Duration::MAX);
        let limit = u32::try_from(wanted).unwrap_or(u32::MAX);
        let claims = match state.store.claim_deliveries(at, &lease, until, limit).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not take due webhook deliveries");
                return true;
            }
        };
        let got = claims.len();
        for (claim, permit) in claims.into_iter().zip(permits) {
            let (state, lease) = (state.clone(), lease.clone());
            tokio::spawn(async move {
                attempt(&state, &lease, claim).await;
                drop(permit);
            });
        }
        if got < wanted {
            return true;
        }
    }
}

/// Send one claimed delivery and record the attempt.
async fn attempt(state: &AppState, lease: &str, claim: Claim) {
    let Claim { delivery, webhook } = claim;
    let at = now();
    let sent = state.webhooks.send(&webhook, &delivery, at).await;
    let ended = now();
    let (outcome, health) = judge(&state.webhooks.config, webhook.failing_since, delivery.failures, &sent, at, ended);
    state.metrics.webhook_attempt(match outcome {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::Retry { .. } => "retry",
        AttemptOutcome::Failed => "failed",
    });
    if let EndpointHealth::Disable { .. } = &health {
        tracing::warn!(webhook = %webhook.id, app = %webhook.app_id, "webhook disabled: its deliveries have failed for too long");
    }
    let record = sent.attempt(&delivery.id, delivery.attempts.saturating_add(1), at);
    match state.store.finish_attempt(lease, &record, outcome, health).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(delivery = %delivery.id, "delivery no longer held by this worker; attempt not recorded")
        }
        Err(e) => tracing::warn!(delivery = %delivery.id, error = %e, "could not record a webhook attempt"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::events::RetrySchedule;

    fn config(schedule: &str, disable_after: Duration) -> WebhookConfig {
        WebhookConfig {
            retry_schedule: RetrySchedule::parse(schedule).unwrap(),
            allow_private: false,
            disable_after,
            timeout: Duration::from_secs(10),
            concurrency: 4,
        }
    }

    fn sent(status: Option<u16>) -> Sent {
        Sent { status_code: status, latency_ms: 3, response: String::new(), error: None }
    }

    #[test]
    fn outcomes_follow_the_schedule_and_health_the_disable_span() {
        let c = config("5s,1m", Duration::from_secs(3600));
        let t0 = tollgate_core::time::from_millis(1_000_000_000);
        let t1 = t0 + chrono::Duration::seconds(2);
        assert_eq!(
            judge(&c, Some(t0), 1, &sent(Some(204)), t1, t1),
            (AttemptOutcome::Delivered, EndpointHealth::Healthy)
        );
        assert_eq!(
            judge(&c, None, 0, &sent(Some(500)), t0, t1),
            (AttemptOutcome::Retry { at: t1 + chrono::Duration::seconds(5) }, EndpointHealth::Failing)
        );
        assert_eq!(
            judge(&c, Some(t0), 1, &sent(None), t1, t1).0,
            AttemptOutcome::Retry { at: t1 + chrono::Duration::minutes(1) }
        );
        assert_eq!(judge(&c, Some(t0), 2, &sent(Some(307)), t1, t1).0, AttemptOutcome::Failed);
        let late = t0 + chrono::Duration::hours(1);
        match judge(&c, Some(t0), 0, &sent(Some(503)), late, late).1 {
            EndpointHealth::Disable { reason } => {
                assert!(reason.contains(&rfc3339(&t0)) && reason.contains("HTTP 503"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
