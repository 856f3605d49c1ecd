//! Webhook delivery: the HTTP client that sends (`send`), the address rules it obeys (`guard`),
//! the Discord message format (`discord`), the sealed signing secrets (`secret`) and the worker
//! that takes due deliveries from the outbox (`worker`).
//!
//! Events are queued by the store in the transaction of the change that caused them; this
//! module only sends what is queued and records how each attempt went.

pub mod discord;
pub mod guard;
pub mod secret;
mod send;
pub mod worker;

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::config::WebhookConfig;
use crate::crypto::MasterKey;
pub use send::Sent;

/// `User-Agent` of every delivery.
pub const USER_AGENT: &str = concat!("Tollgate-Webhooks/", env!("CARGO_PKG_VERSION"));

/// What a process needs to send webhooks: its settings, one HTTP client, the secrets' key, and
/// the slots that cap the deliveries in flight at once.
pub struct Webhooks {
    config: WebhookConfig,
    client: reqwest::Client,
    secrets: secret::SecretBox,
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Webhooks {
    /// The client never follows a redirect (a 3xx is a failed attempt), never goes through a
    /// proxy, gives a receiver `timeout` for the whole exchange, and unless private targets are
    /// allowed resolves names through [`guard::PublicOnly`].
    pub fn new(config: &WebhookConfig, master: &MasterKey) -> anyhow::Result<Webhooks> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(config.timeout)
            .user_agent(USER_AGENT);
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(guard::PublicOnly));
        }
        let client = builder.build().map_err(|e| anyhow::anyhow!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Webhooks {
            config: config.clone(),
            client,
            secrets: secret::SecretBox::new(master),
            slots: Arc::new(Semaphore::new(config.concurrency)),
        })
    }

    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    pub fn secrets(&self) -> &secret::SecretBox {
        &self.secrets
    }
}
