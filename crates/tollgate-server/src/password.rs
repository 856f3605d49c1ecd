//! The process's one gate for argon2: every password hash and check (seller, reseller, end
//! user) goes through it.
//!
//! - At most one computation per core at once: more only adds memory and latency.
//! - At most [`QUEUE_PER_SLOT`]× that many waiting; past it the caller is answered at once with
//!   [`GateError::Busy`] (admin API: `503 SERVER_BUSY`, client API: `SERVER_BUSY`), both with
//!   `Retry-After`.
//! - Each slot computes in a 19 MiB working buffer that is kept and reused, so a burst of
//!   logins allocates nothing new and the memory does not grow past `slots × 19 MiB`.
//!
//! A computation keeps its slot and its buffer until it has finished on its blocking thread,
//! even when the request that asked for it is gone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::Block;
use tokio::sync::Semaphore;

/// Waiting computations allowed per slot before callers are turned away. A waiting request
/// holds no working memory, only its place; at ~30 ms per computation this is a wait of about
/// two seconds at most.
pub const QUEUE_PER_SLOT: usize = 64;
/// What a turned-away caller is told to wait, in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// Why a gated computation did not give an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateError {
    /// The gate is full: nothing was computed.
    Busy,
    /// The blocking task failed (logged where it happens).
    Failed,
}

/// Computations that may run at once by default: the number of cores.
pub fn default_slots() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// The gate. The server makes one (`AppState::passwords`) and every password hash and check
/// goes through it.
pub struct PasswordGate {
    slots: usize,
    running: Arc<Semaphore>,
    /// Computations admitted (running or waiting).
    admitted: AtomicUsize,
    capacity: AtomicUsize,
    /// Working buffers not in use; never more than `slots` exist.
    buffers: Mutex<Vec<Vec<Block>>>,
}

impl Default for PasswordGate {
    fn default() -> Self {
        PasswordGate::new(default_slots(), QUEUE_PER_SLOT)
    }
}

/// Releases an admission when the computation (or the wait for it) ends.
struct Admission(Arc<PasswordGate>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PasswordGate {
    pub fn new(slots: usize, queue_per_slot: usize) -> PasswordGate {
        let slots = slots.max(1);
        PasswordGate {
            slots,
            running: Arc::new(Semaphore::new(slots)),
            admitted: AtomicUsize::new(0),
            capacity: AtomicUsize::new(slots + slots * queue_per_slot),
            buffers: Mutex::new(Vec::with_capacity(slots)),
        }
    }

    /// Computations admitted at once, running or waiting; past it callers are answered `Busy`.
    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::SeqCst)
    }

    /// Change how many may wait per slot (tests, embedders); admissions already made stand.
    pub fn set_queue_per_slot(&self, queue_per_slot: usize) {
        self.capacity.store(self.slots + self.slots * queue_per_slot, Ordering::SeqCst);
    }

    fn admit(self: &Arc<Self>) -> Result<Admission, GateError> {
        let before = self.admitted.fetch_add(1, Ordering::SeqCst);
        let admission = Admission(self.clone());
        if before >= self.capacity() {
            return Err(GateError::Busy);
        }
        Ok(admission)
    }

    /// Run `job` with a working buffer on a blocking thread, in turn.
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        job: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, GateError> {
        let admission = self.admit()?;
        let permit = self.running.clone().acquire_owned().await.map_err(|_| GateError::Failed)?;
        let gate = self.clone();
        let task = tokio::task::spawn_blocking(move || {
            let (_admission, _permit) = (admission, permit);
            let taken = gate.buffers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut buffer = taken.unwrap_or_else(tollgate_core::password::new_buffer);
            let out = job(&mut buffer);
            gate.buffers.lock().unwrap_or_else(|p| p.into_inner()).push(buffer);
            out
        });
        task.await.map_err(|e| {
            tracing::error!(error = %e, "password task failed");
            GateError::Failed
        })
    }

    /// Check a password against a stored PHC string.
    pub async fn verify(self: &Arc<Self>, password: String, phc: String) -> Result<bool, GateError> {
        self.run(move |mem| tollgate_core::password::verify_with(&password, &phc, mem)).await
    }

    /// Hash a new password.
    pub async fn hash(self: &Arc<Self>, password: String) -> Result<String, GateError> {
        self.run(move |mem| tollgate_core::password::hash_with(&password, mem)).await?.map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            GateError::Failed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_its_capacity_the_gate_answers_busy_at_once() {
        let gate = Arc::new(PasswordGate::new(1, 2));
        assert_eq!(gate.capacity(), 3);
        // Hold the one slot so the next ones have to wait.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let g = gate.clone();
        let holder = tokio::spawn(async move { g.run(move |_| rx.recv().is_ok()).await });
        while gate.admitted.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let g = gate.clone();
                tokio::spawn(async move { g.run(|mem| mem.len()).await })
            })
            .collect();
        while gate.admitted.load(Ordering::SeqCst) < 3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.run(|_| ()).await, Err(GateError::Busy));
        tx.send(()).unwrap();
        assert_eq!(holder.await.unwrap(), Ok(true));
        for w in waiting {
            assert_eq!(w.await.unwrap(), Ok(tollgate_core::password::new_buffer().len()));
        }
        // One slot: one buffer, reused by every computation.
        assert_eq!(gate.buffers.lock().unwrap().len(), 1);
        assert_eq!(gate.admitted.load(Ordering::SeqCst), 0);
        let h = gate.hash("pw".into()).await.unwrap();
        assert_eq!(gate.verify("pw".into(), h.clone()).await, Ok(true));
        assert_eq!(gate.verify("px".into(), h).await, Ok(false));
    }
}
