//! Batching: the database work of many concurrent requests in one round trip. For writes this
//! is a group commit (one transaction for the nonces, or the new sessions, of many requests);
//! for reads, one query for the sessions many requests name.
//!
//! A request hands its item to [`Batcher::submit`] and waits. While no batch is being
//! worked on, the first request starts a worker; the worker takes everything queued (at most
//! `max_batch`), handles it with one store call, answers each request with its own result, and
//! goes on until the queue is empty. Requests arriving while a batch is in the database wait for
//! the next one, so under load one round trip carries the work of every request that came in
//! during the previous one, and when idle a request is handled at once, alone.
//!
//! Nothing is weakened: a request is answered only after the transaction carrying its write has
//! committed (or failed, and then it gets the error), exactly as if it had written alone; a read
//! starts after the request was queued, so it sees every write committed before the request
//! arrived.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tollgate_store::{StoreError, StoreResult};

type Work<T, R> = dyn Fn(Vec<T>) -> Pin<Box<dyn Future<Output = StoreResult<Vec<R>>> + Send>> + Send + Sync;
type Waiter<R> = oneshot::Sender<StoreResult<R>>;

/// One queue of work of one kind, with at most one batch in the database at a time.
pub struct Batcher<T, R> {
    inner: Arc<Inner<T, R>>,
}

struct Inner<T, R> {
    queue: Mutex<Queue<T, R>>,
    work: Box<Work<T, R>>,
    max_batch: usize,
    /// Batches in the database at once, at most.
    workers: usize,
}

struct Queue<T, R> {
    items: Vec<(T, Waiter<R>)>,
    /// Workers running; each takes whatever is queued before it stops.
    working: usize,
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Batches of at most `max_batch` items, each handled by one call of `work`, which answers
    /// one result per item, in order; at most `workers` batches at once (1 for writes: a group
    /// commit; more for reads, which the database runs side by side).
    pub fn new<F, Fut>(max_batch: usize, workers: usize, work: F) -> Batcher<T, R>
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = StoreResult<Vec<R>>> + Send + 'static,
    {
        Batcher {
            inner: Arc::new(Inner {
                queue: Mutex::new(Queue { items: Vec::new(), working: 0 }),
                work: Box::new(move |items| Box::pin(work(items))),
                max_batch: max_batch.max(1),
                workers: workers.max(1),
            }),
        }
    }

    /// Queue `item` and wait until the batch carrying it is done (a write: committed): its own
    /// result.
    pub async fn submit(&self, item: T) -> StoreResult<R> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut q = self.inner.lock();
            q.items.push((item, tx));
            let start = q.working < self.inner.workers;
            q.working += usize::from(start);
            start
        };
        if start {
            tokio::spawn(self.inner.clone().drain());
        }
        rx.await.unwrap_or_else(|_| Err(StoreError::Other("a batch ended without an answer".into())))
    }
}

impl<T: Send + 'static, R: Send + 'static> Inner<T, R> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<T, R>> {
        // Nothing is left half-changed under the lock: a poisoned queue is still consistent.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Handle batches until the queue is empty, then stop (the next `submit` starts a new worker).
    async fn drain(self: Arc<Self>) {
        loop {
            let batch: Vec<(T, Waiter<R>)> = {
                let mut q = self.lock();
                if q.items.is_empty() {
                    q.working -= 1;
                    return;
                }
                let n = q.items.len().min(self.max_batch);
                q.items.drain(..n).collect()
            };
            let (items, waiters): (Vec<T>, Vec<Waiter<R>>) = batch.into_iter().unzip();
            let n = items.len();
            // Its own task, so that a panic in the work fails this batch, not the worker.
            let answers = match tokio::spawn((self.work)(items)).await {
                Ok(Ok(answers)) if answers.len() == n => Ok(answers),
                Ok(Ok(answers)) => {
                    Err(StoreError::Other(format!("a batch of {n} items was answered {} times", answers.len())))
                }
                Ok(Err(e)) => Err(e),
                Err(e) => Err(StoreError::Other(format!("a batch failed: {e}"))),
            };
            match answers {
                Ok(answers) => {
                    for (waiter, answer) in waiters.into_iter().zip(answers) {
                        // A request that gave up waiting (its client went away) needs no answer.
                        let _ = waiter.send(Ok(answer));
                    }
                }
                Err(e) => {
                    for waiter in waiters {
                        let _ = waiter.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_items_share_batches_and_each_gets_its_own_answer() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let gc = Arc::new(Batcher::new(16, 1, move |items: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                Ok(items.into_iter().map(|i| i * 2).collect())
            }
        }));
        let tasks: Vec<_> = (0..200u32)
            .map(|i| {
                let gc = gc.clone();
                tokio::spawn(async move { (i, gc.submit(i).await) })
            })
            .collect();
        for t in tasks {
            let (i, answer) = t.await.unwrap();
            assert_eq!(answer.unwrap(), i * 2);
        }
        let calls = calls.load(Ordering::SeqCst);
        assert!(calls >= 200 / 16, "at most 16 per batch: {calls} calls");
        assert!(calls < 200, "200 concurrent items were batched: {calls} calls");
        // Idle again: the next item is written on its own.
        assert_eq!(gc.submit(7).await.unwrap(), 14);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_the_given_number_of_batches_run_at_once() {
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (n, p) = (now.clone(), peak.clone());
        let gc = Arc::new(Batcher::new(4, 3, move |items: Vec<u32>| {
            let (n, p) = (n.clone(), p.clone());
            async move {
                p.fetch_max(n.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                n.fetch_sub(1, Ordering::SeqCst);
                Ok(items)
            }
        }));
        let tasks: Vec<_> = (0..120u32)
            .map(|i| {
                tokio::spawn({
                    let gc = gc.clone();
                    async move { gc.submit(i).await }
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap().unwrap(), i as u32);
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!((2..=3).contains(&peak), "batches at once: {peak}");
    }

    #[tokio::test]
    async fn a_failed_or_panicking_batch_fails_its_items_and_the_next_batch_still_runs() {
        let gc = Batcher::new(8, 1, |items: Vec<u32>| async move {
            match items[0] {
                0 => Err(StoreError::Unavailable("down".into())),
                1 => panic!("a bug in the work"),
                2 => Ok(Vec::new()),
                _ => Ok(items),
            }
        });
        assert!(matches!(gc.submit(0).await, Err(StoreError::Unavailable(_))));
        assert!(matches!(gc.submit(1).await, Err(StoreError::Other(_))));
        assert!(matches!(gc.submit(2).await, Err(StoreError::Other(_))), "a wrong number of answers");
        assert_eq!(gc.submit(3).await.unwrap(), 3);
    }
}
