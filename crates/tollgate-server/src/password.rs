//! The process's one gate for argon2: every password hash and check (seller, reseller, end
//! user) goes through it.
//!
//! - At most one computation per core at once ([`slots`]): more only adds memory and latency.
//! - At most [`QUEUE_PER_SLOT`]× that many waiting; past it the caller is answered at once with
//!   [`Busy`] (admin API: `503 SERVER_BUSY`, client API: `SERVER_BUSY`), both with `Retry-After`.
//! - Each slot computes in a 19 MiB working buffer that is kept and reused, so a burst of
//!   logins allocates nothing new and the memory does not grow past `slots × 19 MiB`.
//!
//! A computation keeps its slot and its buffer until it has finished on its blocking thread,
//! even when the request that asked for it is gone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::Block;
use tokio::sync::Semaphore;

/// Waiting computations allowed per slot before callers are turned away.
pub const QUEUE_PER_SLOT: usize = 4;
/// What a turned-away caller is told to wait, in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// The gate is full: nothing was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Why a gated computation did not give an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateError {
    Busy,
    /// The blocking task failed (logged where it happens).
    Failed,
}

struct Gate {
    slots: Arc<Semaphore>,
    /// Computations admitted (running or waiting).
    admitted: AtomicUsize,
    capacity: usize,
    /// Working buffers not in use; never more than the number of slots exist.
    buffers: Mutex<Vec<Vec<Block>>>,
}

/// Computations that may run at once: the number of cores.
pub fn slots() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// Computations admitted at once, running or waiting; past it callers are answered `Busy`.
pub fn capacity() -> usize {
    gate().capacity
}

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| {
        let n = slots();
        Gate {
            slots: Arc::new(Semaphore::new(n)),
            admitted: AtomicUsize::new(0),
            capacity: n + n * QUEUE_PER_SLOT,
            buffers: Mutex::new(Vec::with_capacity(n)),
        }
    })
}

/// Releases an admission when the computation (or the wait for it) ends.
struct Admission(&'static Gate);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::SeqCst);
    }
}

fn admit() -> Result<Admission, Busy> {
    let g = gate();
    let before = g.admitted.fetch_add(1, Ordering::SeqCst);
    let admission = Admission(g);
    if before >= g.capacity {
        return Err(Busy);
    }
    Ok(admission)
}

/// Run `job` with a working buffer on a blocking thread, in turn.
pub async fn run<T: Send + 'static>(job: impl FnOnce(&mut [Block]) -> T + Send + 'static) -> Result<T, GateError> {
    let admission = admit().map_err(|Busy| GateError::Busy)?;
    let g = admission.0;
    let permit = g.slots.clone().acquire_owned().await.map_err(|_| GateError::Failed)?;
    let task = tokio::task::spawn_blocking(move || {
        let (_admission, _permit) = (admission, permit);
        let taken = g.buffers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut buffer = taken.unwrap_or_else(tollgate_core::password::new_buffer);
        let out = job(&mut buffer);
        g.buffers.lock().unwrap_or_else(|p| p.into_inner()).push(buffer);
        out
    });
    task.await.map_err(|e| {
        tracing::error!(error = %e, "password task failed");
        GateError::Failed
    })
}

/// Check a password against a stored PHC string.
pub async fn verify(password: String, phc: String) -> Result<bool, GateError> {
    run(move |mem| tollgate_core::password::verify_with(&password, &phc, mem)).await
}

/// Hash a new password.
pub async fn hash(password: String) -> Result<String, GateError> {
    run(move |mem| tollgate_core::password::hash_with(&password, mem)).await?.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        GateError::Failed
    })
}
