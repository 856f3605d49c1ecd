//! The accept loop: one task per connection, with the limits that keep slow or idle clients from
//! holding sockets.
//!
//! - `header_read_timeout`: a new connection, or one that has started sending a request head,
//!   must finish the head within this time.
//! - `body_timeout`: while a request body is being read, some bytes must arrive at least this
//!   often; otherwise the request is answered 408 and the connection closed.
//! - `idle_timeout`: a keep-alive connection with no request in progress is closed after this
//!   long without traffic.
//! - `max_connections`: past this many open connections a new one is answered 503 and closed.
//!
//! Handlers still get `ConnectInfo<SocketAddr>`; HTTP upgrades are served (`with_upgrades`).
//! On shutdown the listener stops, every connection finishes its request in flight, then the
//! server returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use crate::error::ApiError;

/// The connection limits, from the config.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// What the watchdog of one connection knows about it.
struct Activity {
    base: Instant,
    /// ms since `base` of the last byte read or written
    last_io: AtomicU64,
    /// ms since `base` (+1, 0 = none) when the client started sending a head with nothing in flight
    head_started: AtomicU64,
    /// requests whose response is not yet fully written
    in_flight: AtomicUsize,
    /// whether a request was ever dispatched on this connection
    served: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Activity {
            base: Instant::now(),
            last_io: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
        }
    }
    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
    fn touch(&self, read: bool) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if read && self.in_flight.load(Ordering::Acquire) == 0 {
            let _ = self.head_started.compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Relaxed);
        }
    }
    /// How long until this connection must be closed; `None` = now.
    fn remaining(&self, limits: &Limits) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            // the body timeout and the handler govern a request in progress
            return Some(Duration::from_millis(500));
        }
        let now = self.now_ms();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let started = self.head_started.load(Ordering::Acquire);
        let deadline = if started > 0 {
            (started - 1).saturating_add(ms(limits.header_read_timeout))
        } else if !self.served.load(Ordering::Acquire) {
            ms(limits.header_read_timeout)
        } else {
            self.last_io.load(Ordering::Relaxed).saturating_add(ms(limits.idle_timeout))
        };
        (deadline > now).then(|| Duration::from_millis(deadline - now))
    }
}

/// A socket that records when bytes move.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch(true);
        }
        res
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch(false);
        }
        res
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch(false);
        }
        res
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Counts a request as in flight until its response body is dropped (written or abandoned).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.head_started.store(0, Ordering::Release);
        activity.served.store(true, Ordering::Release);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch(false);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that holds the in-flight mark.
struct GuardedBody {
    body: Body,
    _guard: InFlight,
}

impl hyper::body::Body for GuardedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// A request body that fails when no bytes arrive for `timeout`; `stalled` records it.
struct ProgressBody {
    body: Body,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    stalled: Arc<AtomicBool>,
}

impl hyper::body::Body for ProgressBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.sleep = None;
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.stalled.store(true, Ordering::Release);
                        Poll::Ready(Some(Err(axum::Error::new("request body stalled"))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Wrap the request body in a progress timeout; a stalled body makes the answer 408 and closes
/// the connection, whatever the handler made of the read error.
async fn serve_request(app: Router, req: Request, limits: Limits, activity: Arc<Activity>) -> Response {
    let guard = InFlight::start(&activity);
    let stalled = Arc::new(AtomicBool::new(false));
    let (parts, body) = req.into_parts();
    let body = ProgressBody { body, timeout: limits.body_timeout, sleep: None, stalled: stalled.clone() };
    let req = Request::from_parts(parts, Body::new(body));
    let res = match app.oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    let mut res = if stalled.load(Ordering::Acquire) {
        tracing::debug!("request body stalled; closing the connection");
        ApiError::new(StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT", "The request body stopped arriving")
            .into_response()
    } else {
        res
    };
    if stalled.load(Ordering::Acquire) {
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res.map(|body| Body::new(GuardedBody { body, _guard: guard }))
}

/// Serve `app` on `listener` until `shutdown` resolves, then drain.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            // shutdown first, so its signal handlers are installed before the first connection
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // out of file descriptors and the like: wait instead of spinning
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let app = app.clone();
        let builder = builder.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let activity = Arc::new(Activity::new());
            let io = TokioIo::new(Tracked { inner: stream, activity: activity.clone() });
            let act = activity.clone();
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                let fut = serve_request(app.clone(), req, limits, act.clone());
                async move { Ok::<_, std::convert::Infallible>(fut.await) }
            });
            let conn = builder.serve_connection_with_upgrades(io, service);
            tokio::pin!(conn);
            let mut draining = false;
            loop {
                let wait = activity.remaining(&limits);
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, %peer, "connection ended with an error");
                        }
                        break;
                    }
                    changed = stop.changed(), if !draining => {
                        let _ = changed;
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    // re-checked at least twice a second: requests start and end in between
                    () = tokio::time::sleep(wait.unwrap_or_default().min(Duration::from_millis(500))) => {
                        if activity.remaining(&limits).is_none() {
                            tracing::debug!(%peer, "closing a slow or idle connection");
                            break;
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every open connection holds a slot: having them all back means every one has finished.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// Past `max_connections`: a short 503 and close.
async fn refuse(mut stream: TcpStream) {
    const BODY: &str = r#"{"success":false,"code":"UNAVAILABLE","message":"Too many open connections; retry later"}"#;
    let text = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(text.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
