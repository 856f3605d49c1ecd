//! One attempt at one delivery: the body in the webhook's format, signed as Standard Webhooks
//! says, posted, and what came back.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tollgate_core::model::{Delivery, DeliveryAttempt, Webhook, WebhookFormat};
use tollgate_core::time::Timestamp;

use super::{discord, guard, secret, Webhooks};

/// How much of an answer's body is kept for the delivery log.
const RESPONSE_KEPT: usize = 1024;
/// Longest error text kept.
const ERROR_MAX: usize = 500;

/// What an attempt got.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The receiver's status; `None` when no answer came.
    pub status_code: Option<u16>,
    pub latency_ms: u32,
    /// The first KiB of the answer, lossily decoded.
    pub response: String,
    /// Why there was no answer, or why it does not count.
    pub error: Option<String>,
}

impl Sent {
    /// A 2xx answer.
    pub fn ok(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }

    fn refused(error: String) -> Sent {
        Sent { status_code: None, latency_ms: 0, response: String::new(), error: Some(error) }
    }

    /// `HTTP 500`, or the error: what the attempt came to, in a few words.
    pub fn summary(&self) -> String {
        match (&self.error, self.status_code) {
            (Some(e), _) => e.clone(),
            (None, Some(s)) => format!("HTTP {s}"),
            (None, None) => "no answer".to_owned(),
        }
    }

    /// The attempt as the delivery log records it.
    pub fn attempt(&self, delivery_id: &str, number: u32, at: Timestamp) -> DeliveryAttempt {
        DeliveryAttempt {
            delivery_id: delivery_id.to_owned(),
            number,
            at,
            status_code: self.status_code,
            latency_ms: self.latency_ms,
            response: self.response.clone(),
            error: self.error.clone(),
        }
    }
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under the secret's key.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// An error's text and its causes, without the URL (it can carry credentials), capped.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s (timed out)", timeout.as_secs());
    }
    let e = e.without_url();
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let text = c.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        cause = std::error::Error::source(c);
    }
    let text = parts.join(": ");
    if text.chars().count() > ERROR_MAX {
        text.chars().take(ERROR_MAX).collect()
    } else {
        text
    }
}

impl Webhooks {
    /// Send `delivery` to `hook` now, as attempt made at `at` (its `webhook-timestamp`). Never
    /// fails: whatever went wrong is in the answer.
    pub async fn send(&self, hook: &Webhook, delivery: &Delivery, at: Timestamp) -> Sent {
        let url = match url::Url::parse(&hook.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => return Sent::refused("the webhook's URL is not an http(s) URL".to_owned()),
        };
        if !self.config.allow_private {
            if let Some(why) = guard::refused_literal(&url) {
                return Sent::refused(why);
            }
        }
        let key = match self.secrets.open(&hook.id, &hook.secret) {
            Ok(plain) => secret::signing_key(&plain),
            Err(e) => return Sent::refused(e.to_string()),
        };
        let body = match hook.format {
            WebhookFormat::Standard => delivery.payload.clone(),
            WebhookFormat::Discord => discord::body(&delivery.payload),
        };
        let timestamp = at.timestamp();
        let request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature(&key, &delivery.id, timestamp, &body))
            .body(body);
        let started = Instant::now();
        let answer = request.send().await;
        let mut sent = match answer {
            Err(e) => Sent::refused(describe(e, self.config.timeout)),
            Ok(mut res) => {
                let status = res.status();
                let mut kept = Vec::new();
                let mut error = None;
                while kept.len() < RESPONSE_KEPT {
                    match res.chunk().await {
                        Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                        Ok(None) => break,
                        Err(e) => {
                            error = Some(format!("reading the answer: {}", describe(e, self.config.timeout)));
                            break;
                        }
                    }
                }
                kept.truncate(RESPONSE_KEPT);
                if status.is_redirection() {
                    error = Some("answered with a redirect, which is not followed".to_owned());
                }
                Sent {
                    status_code: Some(status.as_u16()),
                    latency_ms: 0,
                    response: String::from_utf8_lossy(&kept).into_owned(),
                    error,
                }
            }
        };
        sent.latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let key = secret::signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_2xx_is_ok_and_nothing_else() {
        let sent = |s: Option<u16>| Sent { status_code: s, latency_ms: 1, response: String::new(), error: None };
        assert!(sent(Some(200)).ok() && sent(Some(204)).ok());
        assert!(!sent(Some(307)).ok() && !sent(Some(500)).ok() && !sent(None).ok());
        assert_eq!(sent(Some(500)).summary(), "HTTP 500");
    }
}
