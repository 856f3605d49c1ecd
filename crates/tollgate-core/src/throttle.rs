//! Throttling of password guesses, counted before the password is checked.
//!
//! An attempt is *reserved* before the expensive check and *settled* after it: a failure keeps
//! the reservation, a success releases it (and clears the account-and-address key), an attempt
//! abandoned before the check (server busy, database down, client gone) releases it. So N
//! parallel guesses can never get more than the limit checked: the (N+1)th is refused at
//! reservation time, while the first N are still being verified.
//!
//! Three keys per attempt, each counted in a window that starts with its first attempt:
//! - the account *from this address*: a hard limit (e.g. 10 in 15 minutes), then refused;
//! - the address, over every account: a hard limit (a spray from one address stops);
//! - the account, over every address: never refused, only slowed down. Past `account_free`
//!   failures each further attempt waits `min(2^k s, max_delay)` before its check, so strangers
//!   spread over many addresses cannot lock the owner out: the right password from another
//!   address still works, a little later.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits of one [`LoginThrottle`].
#[derive(Debug, Clone, Copy)]
pub struct ThrottleRule {
    /// Failures of one account from one address in a window, then refused.
    pub pair_max: u32,
    /// Failures from one address over all accounts in a window, then refused.
    pub address_max: u32,
    /// Failures of one account over all addresses before attempts start to wait.
    pub account_free: u32,
    /// The longest wait an account's attempts are given.
    pub max_delay: Duration,
    pub window: Duration,
}

impl ThrottleRule {
    /// Seller and end-user logins: 10 per account and address, `address_max` per address, the
    /// account slowed after 10 failures, waits up to 30 s, windows of 15 minutes.
    pub const fn login(address_max: u32) -> ThrottleRule {
        ThrottleRule {
            pair_max: 10,
            address_max,
            account_free: 10,
            max_delay: Duration::from_secs(30),
            window: Duration::from_secs(15 * 60),
        }
    }

    /// The wait before an attempt when the account already has `failures` across addresses.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures < self.account_free {
            return Duration::ZERO;
        }
        let k = (failures - self.account_free).min(16);
        Duration::from_secs(1u64 << k).min(self.max_delay)
    }
}

/// The keys an attempt is counted under. Callers scope them (app id, kind) so keys of
/// different throttled actions do not mix.
#[derive(Debug, Clone)]
pub struct AttemptKeys {
    pub account: String,
    pub address: String,
}

#[derive(Default)]
struct Counts {
    pair: HashMap<String, (u32, Instant)>,
    address: HashMap<String, (u32, Instant)>,
    account: HashMap<String, (u32, Instant)>,
}

pub struct LoginThrottle {
    rule: ThrottleRule,
    counts: Mutex<Counts>,
}

/// Keep at most this many keys per map; past it, windows that have passed are forgotten.
const MAX_KEYS: usize = 100_000;

fn live(entry: Option<&(u32, Instant)>, now: Instant, window: Duration) -> u32 {
    match entry {
        Some(&(n, start)) if now.duration_since(start) < window => n,
        _ => 0,
    }
}

fn bump(map: &mut HashMap<String, (u32, Instant)>, key: &str, now: Instant, window: Duration) -> u32 {
    if map.len() > MAX_KEYS {
        map.retain(|_, (_, start)| now.duration_since(*start) < window);
    }
    let e = map.entry(key.to_owned()).or_insert((0, now));
    if now.duration_since(e.1) >= window {
        *e = (0, now);
    }
    e.0 += 1;
    e.0
}

fn release(map: &mut HashMap<String, (u32, Instant)>, key: &str) {
    if let Some(e) = map.get_mut(key) {
        e.0 = e.0.saturating_sub(1);
        if e.0 == 0 {
            map.remove(key);
        }
    }
}

fn retry_after(entry: Option<&(u32, Instant)>, now: Instant, window: Duration) -> u64 {
    entry.map(|&(_, start)| (start + window).saturating_duration_since(now).as_secs().max(1)).unwrap_or(1)
}

impl LoginThrottle {
    pub fn new(rule: ThrottleRule) -> LoginThrottle {
        LoginThrottle { rule, counts: Mutex::new(Counts::default()) }
    }

    pub fn rule(&self) -> ThrottleRule {
        self.rule
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count an attempt before its check. `Err(seconds)` when the account-and-address or the
    /// address limit is reached (nothing is counted then); otherwise the attempt, with the wait
    /// it must take before checking ([`Attempt::delay`]).
    pub fn reserve(&self, keys: AttemptKeys, now: Instant) -> Result<Attempt<'_>, u64> {
        let pair_key = format!("{}\u{0}{}", keys.account, keys.address);
        let w = self.rule.window;
        let mut c = self.counts();
        if live(c.pair.get(&pair_key), now, w) >= self.rule.pair_max {
            return Err(retry_after(c.pair.get(&pair_key), now, w));
        }
        if live(c.address.get(&keys.address), now, w) >= self.rule.address_max {
            return Err(retry_after(c.address.get(&keys.address), now, w));
        }
        let earlier = live(c.account.get(&keys.account), now, w);
        bump(&mut c.pair, &pair_key, now, w);
        bump(&mut c.address, &keys.address, now, w);
        bump(&mut c.account, &keys.account, now, w);
        Ok(Attempt { throttle: self, keys, pair_key, delay: self.rule.delay(earlier), settled: false })
    }
}

/// A reserved attempt. Settle it with [`Attempt::failed`] or [`Attempt::succeeded`]; dropped
/// unsettled (no password was found wrong) it is released.
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    keys: AttemptKeys,
    pair_key: String,
    delay: Duration,
    settled: bool,
}

impl Attempt<'_> {
    /// How long to wait before checking the password (zero unless the account is being guessed
    /// at from many addresses).
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The password was wrong: the reservation stays counted.
    pub fn failed(mut self) {
        self.settled = true;
    }

    /// The password was right: this address's failures on the account are forgotten, and this
    /// attempt no longer counts against the address or the account.
    pub fn succeeded(mut self) {
        self.settled = true;
        let mut c = self.throttle.counts();
        c.pair.remove(&self.pair_key);
        release(&mut c.address, &self.keys.address);
        release(&mut c.account, &self.keys.account);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let mut c = self.throttle.counts();
            release(&mut c.pair, &self.pair_key);
            release(&mut c.address, &self.keys.address);
            release(&mut c.account, &self.keys.account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(account: &str, address: &str) -> AttemptKeys {
        AttemptKeys { account: account.into(), address: address.into() }
    }

    fn rule() -> ThrottleRule {
        ThrottleRule {
            pair_max: 3,
            address_max: 5,
            account_free: 4,
            max_delay: Duration::from_secs(30),
            window: Duration::from_secs(60),
        }
    }

    #[test]
    fn reservations_count_before_the_check() {
        let t = LoginThrottle::new(rule());
        let t0 = Instant::now();
        // Three in flight at once: the fourth is refused before any of them is settled.
        let held: Vec<_> = (0..3).map(|_| t.reserve(keys("a", "ip1"), t0).unwrap()).collect();
        assert_eq!(t.reserve(keys("a", "ip1"), t0).err(), Some(60));
        for a in held {
            a.failed();
        }
        assert!(t.reserve(keys("a", "ip1"), t0).is_err(), "failures stay counted");
        assert!(t.reserve(keys("a", "ip1"), t0 + Duration::from_secs(61)).is_ok(), "the window passes");
    }

    #[test]
    fn success_and_abandon_release() {
        let t = LoginThrottle::new(rule());
        let t0 = Instant::now();
        t.reserve(keys("a", "ip1"), t0).unwrap().failed();
        t.reserve(keys("a", "ip1"), t0).unwrap().failed();
        t.reserve(keys("a", "ip1"), t0).unwrap().succeeded();
        // The success cleared the pair: three more may be tried.
        for _ in 0..3 {
            t.reserve(keys("a", "ip1"), t0).unwrap().failed();
        }
        assert!(t.reserve(keys("a", "ip1"), t0).is_err());
        // Dropped without a verdict: not counted.
        let t = LoginThrottle::new(rule());
        for _ in 0..10 {
            drop(t.reserve(keys("b", "ip1"), t0).unwrap());
        }
        assert!(t.reserve(keys("b", "ip1"), t0).is_ok());
    }

    #[test]
    fn an_address_is_limited_over_all_accounts() {
        let t = LoginThrottle::new(rule());
        let t0 = Instant::now();
        for acct in ["a", "b", "c", "d", "e"] {
            t.reserve(keys(acct, "ip1"), t0).unwrap().failed();
        }
        assert!(t.reserve(keys("f", "ip1"), t0).is_err());
        assert!(t.reserve(keys("f", "ip2"), t0).is_ok());
    }

    #[test]
    fn strangers_slow_an_account_down_but_never_lock_it() {
        let t = LoginThrottle::new(rule());
        let t0 = Instant::now();
        // Failures from many addresses, each under its own limits.
        for i in 0..40 {
            let a = t.reserve(keys("owner", &format!("ip{i}")), t0).unwrap();
            assert!(a.delay() <= Duration::from_secs(30));
            a.failed();
        }
        // The owner, from a fresh address, is let through after a bounded wait.
        let a = t.reserve(keys("owner", "home"), t0).unwrap();
        assert_eq!(a.delay(), Duration::from_secs(30));
        a.succeeded();
    }

    #[test]
    fn delays_grow_and_cap() {
        let r = rule();
        assert_eq!(r.delay(0), Duration::ZERO);
        assert_eq!(r.delay(3), Duration::ZERO);
        assert_eq!(r.delay(4), Duration::from_secs(1));
        assert_eq!(r.delay(5), Duration::from_secs(2));
        assert_eq!(r.delay(7), Duration::from_secs(8));
        assert_eq!(r.delay(9), Duration::from_secs(30));
        assert_eq!(r.delay(u32::MAX), Duration::from_secs(30));
    }
}
