//! Per-process cache of what every client request reads: the app (settings, keys), its
//! blacklist and its variables; and of what every admin request checks: the seller's token
//! generation. Entries are dropped when any process sharing the database publishes an
//! `Invalidation` (SQLite: in-process; PostgreSQL: `LISTEN/NOTIFY`), so a change made through
//! one node is in force on every node as soon as the notification arrives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tollgate_core::model::{App, AppVariable, BlacklistEntry, BlacklistKind};
use tollgate_store::{Invalidation, Store, StoreResult};

/// An app as client requests see it.
#[derive(Debug, Clone)]
pub struct CachedApp {
    pub app: App,
    pub blacklist: Vec<BlacklistEntry>,
    /// The IP entries of the blacklist, parsed once (they are CIDRs).
    pub ip_blacklist: Vec<ipnet::IpNet>,
}

#[derive(Default)]
struct Maps {
    by_id: HashMap<String, Arc<CachedApp>>,
    /// (owner id, exact name) → app id
    by_name: HashMap<(String, String), String>,
    /// websocket key → app id
    by_ws_key: HashMap<String, String>,
    /// seller id → its token generation, `None` for a seller that does not exist (checked on
    /// every bearer request of the admin API)
    sellers: HashMap<String, Option<i64>>,
    /// app id → variable key → the app variable, `None` for a key the app has no variable of
    /// (a client asking for it is then looking for its own variable, or for nothing)
    variables: HashMap<String, HashMap<String, Option<Arc<AppVariable>>>>,
    /// What `variables` holds, counted as key and value bytes plus [`VARIABLE_OVERHEAD`] each.
    variable_bytes: usize,
}

/// Cached sellers at most; past it the seller map starts over.
const MAX_SELLERS: usize = 100_000;
/// The most the variable cache holds (keys, values and overhead); past it it starts over, so
/// clients asking for many keys, or for keys that do not exist, cannot grow it without bound.
const MAX_VARIABLE_BYTES: usize = 16 * 1024 * 1024;
/// Bytes counted per cached variable beside its key and value (the maps' entries, the Arc).
const VARIABLE_OVERHEAD: usize = 128;

/// What one cached variable (or absent key) counts against [`MAX_VARIABLE_BYTES`].
fn variable_size(key: &str, var: &Option<Arc<AppVariable>>) -> usize {
    key.len() + var.as_ref().map_or(0, |v| v.value.len()) + VARIABLE_OVERHEAD
}

impl Maps {
    fn forget_variables(&mut self, app_id: &str) {
        if let Some(vars) = self.variables.remove(app_id) {
            let freed: usize = vars.iter().map(|(k, v)| variable_size(k, v)).sum();
            self.variable_bytes = self.variable_bytes.saturating_sub(freed);
        }
    }
}

#[derive(Default)]
pub struct AppCache {
    maps: RwLock<Maps>,
    /// Bumped by every invalidation: a load that raced with one is not cached.
    generation: AtomicU64,
}

impl AppCache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(|p| p.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn invalidate(&self, inv: &Invalidation) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut m = self.write();
        match inv {
            Invalidation::All => *m = Maps::default(),
            Invalidation::SigningKeys | Invalidation::WebhooksDue | Invalidation::Live { .. } => {}
            Invalidation::Seller(id) => {
                m.sellers.remove(id);
            }
            Invalidation::App(id) => {
                m.by_id.remove(id);
                m.by_name.retain(|_, v| v != id);
                m.by_ws_key.retain(|_, v| v != id);
                m.forget_variables(id);
            }
            Invalidation::Variables(id) => m.forget_variables(id),
        }
    }

    /// The app's variable of that key, `None` when it has none. Cached per app and key, absent
    /// keys too; dropped by `Invalidation::Variables` or `Invalidation::App` of the app from any
    /// process.
    pub async fn app_variable(
        &self,
        store: &dyn Store,
        app_id: &str,
        key: &str,
    ) -> StoreResult<Option<Arc<AppVariable>>> {
        if let Some(hit) = self.read().variables.get(app_id).and_then(|vars| vars.get(key)) {
            return Ok(hit.clone());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let found = store.get_variable(app_id, key).await?.map(Arc::new);
        let mut m = self.write();
        if self.generation.load(Ordering::SeqCst) == generation {
            let size = variable_size(key, &found);
            if m.variable_bytes + size > MAX_VARIABLE_BYTES {
                m.variables.clear();
                m.variable_bytes = 0;
            }
            let old = m.variables.entry(app_id.to_owned()).or_default().insert(key.to_owned(), found.clone());
            m.variable_bytes = m.variable_bytes + size - old.map_or(0, |old| variable_size(key, &old));
        }
        Ok(found)
    }

    /// The seller's token generation, `None` when the seller does not exist. Cached; dropped by
    /// `Invalidation::Seller` from any process.
    pub async fn seller_generation(&self, store: &dyn Store, seller_id: &str) -> StoreResult<Option<i64>> {
        if let Some(hit) = self.read().sellers.get(seller_id) {
            return Ok(*hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let found = store.seller_token_generation(seller_id).await?;
        let mut m = self.write();
        if self.generation.load(Ordering::SeqCst) == generation {
            if m.sellers.len() >= MAX_SELLERS {
                m.sellers.clear();
            }
            m.sellers.insert(seller_id.to_owned(), found);
        }
        Ok(found)
    }

    /// Cached entry, if present (no loading).
    pub fn peek(&self, app_id: &str) -> Option<Arc<CachedApp>> {
        self.read().by_id.get(app_id).cloned()
    }

    async fn load(&self, store: &dyn Store, app: Option<App>, generation: u64) -> StoreResult<Option<Arc<CachedApp>>> {
        let Some(app) = app else { return Ok(None) };
        let blacklist = store.list_blacklist(&app.id).await?;
        let ip_blacklist = blacklist
            .iter()
            .filter(|e| e.kind == BlacklistKind::Ip)
            .filter_map(|e| tollgate_core::net::parse_cidr(&e.value))
            .collect();
        let entry = Arc::new(CachedApp { app, blacklist, ip_blacklist });
        let mut m = self.write();
        if self.generation.load(Ordering::SeqCst) == generation {
            let a = &entry.app;
            m.by_name.insert((a.owner_id.clone(), a.name.clone()), a.id.clone());
            m.by_ws_key.insert(a.ws_key.clone(), a.id.clone());
            m.by_id.insert(a.id.clone(), entry.clone());
        }
        Ok(Some(entry))
    }

    pub async fn by_id(&self, store: &dyn Store, app_id: &str) -> StoreResult<Option<Arc<CachedApp>>> {
        if let Some(hit) = self.peek(app_id) {
            return Ok(Some(hit));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let app = store.app_by_id(app_id).await?;
        self.load(store, app, generation).await
    }

    /// Case-sensitive name under an owner (Authly init).
    pub async fn by_owner_and_name(
        &self,
        store: &dyn Store,
        owner_id: &str,
        name: &str,
    ) -> StoreResult<Option<Arc<CachedApp>>> {
        let hit = {
            let m = self.read();
            m.by_name.get(&(owner_id.to_owned(), name.to_owned())).and_then(|id| m.by_id.get(id).cloned())
        };
        if hit.is_some() {
            return Ok(hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let app = store.app_by_owner_and_name(owner_id, name).await?;
        self.load(store, app, generation).await
    }

    pub async fn by_ws_key(&self, store: &dyn Store, ws_key: &str) -> StoreResult<Option<Arc<CachedApp>>> {
        let hit = {
            let m = self.read();
            m.by_ws_key.get(ws_key).and_then(|id| m.by_id.get(id).cloned())
        };
        if hit.is_some() {
            return Ok(hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let app = store.app_by_ws_key(ws_key).await?;
        self.load(store, app, generation).await
    }
}

/// Apply every invalidation published by any process to this process's cache.
pub fn spawn_invalidation_listener(store: Arc<dyn Store>, cache: Arc<AppCache>) {
    let mut rx = store.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(inv) => cache.invalidate(&inv),
                // Fell behind: some invalidations were dropped, so drop everything.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => cache.invalidate(&Invalidation::All),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use tollgate_core::ids::{self, prefix};
    use tollgate_core::model::{AppStatus, Seller};
    use tollgate_core::settings::AppSettings;
    use tollgate_core::time::now;
    use tollgate_store::{AppStore, SellerStore, VariablePatch, VariableStore};

    use super::*;

    fn variable(app_id: &str, key: &str, value: &str) -> AppVariable {
        AppVariable {
            id: ids::new_id(prefix::VARIABLE),
            app_id: app_id.into(),
            key: key.into(),
            value: value.into(),
            read_only: false,
            auth_required: false,
            created_at: now(),
            updated_at: now(),
        }
    }

    /// Changes made straight in the store (no invalidation) stay unseen until the app's
    /// variables are invalidated: the answers come from the cache, absent keys included.
    #[tokio::test]
    async fn variables_are_cached_until_their_invalidation() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = tollgate_sqlite::SqliteStore::open(&url, 2).await.unwrap();
        let seller = Seller {
            id: ids::new_id(prefix::SELLER),
            email: "cache@example.com".into(),
            name: "Cache".into(),
            password_hash: "x".into(),
            plan: "free".into(),
            created_at: now(),
        };
        store.create_seller(&seller).await.unwrap();
        let app = App {
            id: ids::new_id(prefix::APP),
            owner_id: seller.id.clone(),
            name: "Cached".into(),
            api_key: ids::new_api_key(),
            ws_key: ids::new_ws_key(),
            version: "1.0".into(),
            status: AppStatus::Active,
            settings: AppSettings::default(),
            created_at: now(),
            updated_at: now(),
        };
        store.create_app(&app).await.unwrap();
        store.create_variable(&variable(&app.id, "motd", "v1")).await.unwrap();
        let cache = AppCache::default();
        let value = |v: Option<Arc<AppVariable>>| v.map(|v| v.value.clone());

        assert_eq!(value(cache.app_variable(&store, &app.id, "motd").await.unwrap()), Some("v1".into()));
        assert_eq!(value(cache.app_variable(&store, &app.id, "later").await.unwrap()), None);
        let patch = VariablePatch { value: Some("v2".into()), ..Default::default() };
        store.update_variable(&app.id, "motd", &patch, now()).await.unwrap().unwrap();
        store.create_variable(&variable(&app.id, "later", "now")).await.unwrap();
        assert_eq!(value(cache.app_variable(&store, &app.id, "motd").await.unwrap()), Some("v1".into()));
        assert_eq!(value(cache.app_variable(&store, &app.id, "later").await.unwrap()), None);
        let held = cache.read().variable_bytes;
        assert_eq!(held, "motd".len() + "v1".len() + "later".len() + 2 * VARIABLE_OVERHEAD);

        // Another app's invalidation changes nothing here.
        cache.invalidate(&Invalidation::Variables("app_other".into()));
        assert_eq!(value(cache.app_variable(&store, &app.id, "motd").await.unwrap()), Some("v1".into()));

        cache.invalidate(&Invalidation::Variables(app.id.clone()));
        assert_eq!(cache.read().variable_bytes, 0);
        assert_eq!(value(cache.app_variable(&store, &app.id, "motd").await.unwrap()), Some("v2".into()));
        assert_eq!(value(cache.app_variable(&store, &app.id, "later").await.unwrap()), Some("now".into()));

        // The app's own invalidation (settings, deletion) drops its variables too.
        store.delete_variable(&app.id, "motd").await.unwrap();
        cache.invalidate(&Invalidation::App(app.id.clone()));
        assert_eq!(value(cache.app_variable(&store, &app.id, "motd").await.unwrap()), None);
        store.close().await;
    }
}
