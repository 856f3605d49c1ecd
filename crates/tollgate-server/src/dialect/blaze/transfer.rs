//! Files: transfer (7), stop a transfer (8), metadata (9).
//!
//! A transfer answers `{id, status: 1, file_size}`, then sends the bytes from `resume_at` to the
//! end as binary chunk frames (see [`chunk_frame`]), then a final signed text packet with the
//! SHA-256 of the whole file and of the bytes sent. The bytes come from the encrypted store one
//! 64 KiB chunk at a time, in a task of their own that queues each frame on the connection's
//! bounded writer queue: while the client does not read, the task waits and reads nothing more.
//! Packets keep being handled beside it.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tollgate_core::model::FileMeta;
use tollgate_core::DomainError;

use super::codes::{status_of, Close, Status};
use super::conn::{Auth, Conn, Flow, Out, Outgoing};
use super::wire::{FileName, TransferFile};
use crate::client::{self, store_err, Live};
use crate::files::{FileVault, PlaintextStream};
use crate::state::AppState;

/// File names shorter than this many characters are refused before any lookup (301).
pub const MIN_NAME_CHARS: usize = 4;

/// The transfers running on one connection, by the file name the client asked for.
#[derive(Default)]
pub struct Running {
    by_name: HashMap<String, Transfer>,
}

/// One transfer's task and the handle that stops it.
struct Transfer {
    /// The id of the Transfer file packet (the id its stream's packets carry).
    id: u64,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Outcome>,
}

/// How a transfer's task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The final status-1 packet was queued.
    Completed,
    /// Told to stop before the final packet was queued; nothing more was sent.
    Stopped,
    /// The store failed mid-way (a status-6 packet was queued), or the socket is gone.
    Failed,
}

impl Running {
    /// Whether a transfer of `name` is still sending.
    fn busy(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(|t| !t.task.is_finished())
    }

    /// Forget the transfers that have ended.
    fn prune(&mut self) {
        self.by_name.retain(|_, t| !t.task.is_finished());
    }

    /// Transfers still sending.
    pub fn len(&self) -> usize {
        self.by_name.values().filter(|t| !t.task.is_finished()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// ------------------------------------------------------------------------------------- answers

#[derive(Serialize)]
struct Metadata<'a> {
    checksum: &'a str,
    size: i64,
    transfer_count: i64,
    /// Unix seconds; `null` when never transferred.
    last_transferred_at: Option<i64>,
}

#[derive(Serialize)]
struct Started {
    file_size: u64,
}

#[derive(Serialize)]
struct Finished<'a> {
    file_checksum: &'a str,
    range_checksum: &'a str,
}

/// The JSON header of a chunk frame.
#[derive(Serialize)]
struct ChunkHeader {
    id: u64,
    offset: u64,
    length: usize,
}

/// One chunk as a binary frame: the length N of the JSON header as 4 bytes big-endian, the
/// header `{"id","offset","length"}` (N bytes of UTF-8), then the `length` raw bytes.
pub fn chunk_frame(id: u64, offset: u64, bytes: &[u8]) -> Bytes {
    let header = ChunkHeader { id, offset, length: bytes.len() };
    // A struct of three integers always serialises.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let mut frame = BytesMut::with_capacity(4 + header.len() + bytes.len());
    frame.put_u32(u32::try_from(header.len()).unwrap_or(u32::MAX));
    frame.extend_from_slice(&header);
    frame.extend_from_slice(bytes);
    frame.freeze()
}

/// A signed `{id, status, ...body}` packet for the writer, from outside the connection's task.
fn signed<T: Serialize>(state: &AppState, id: u64, status: Status, body: &T) -> Out {
    let mut packet = match serde_json::to_value(body) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    packet.insert("id".into(), Value::from(id));
    packet.insert("status".into(), Value::from(status.code()));
    Out::Text(state.signer.get().sign_packet(packet))
}

// ------------------------------------------------------------------------------------- lookups

/// A name too short to be a file's: refused before any lookup.
fn name_too_short(name: &str) -> bool {
    name.chars().count() < MIN_NAME_CHARS
}

/// The app's file with exactly this name. Names are not unique within an app: the most recently
/// uploaded of them is the one a name reaches.
async fn file_named(state: &AppState, app_id: &str, name: &str) -> Result<Option<FileMeta>, DomainError> {
    let files = state.store.list_files(app_id).await.map_err(store_err)?;
    Ok(files.into_iter().filter(|f| f.name == name).max_by(|a, b| a.created_at.cmp(&b.created_at)))
}

/// The connection's session as the client core sees it, signed in as `conn.auth` says.
fn authorized_live(conn: &Conn) -> Option<Live> {
    let live = conn.live()?;
    let mut session = live.session.clone();
    match conn.auth.as_ref()? {
        Auth::License { license_id } => {
            session.user_id = None;
            session.license_id = Some(license_id.clone());
        }
        Auth::Account { user_id } => session.user_id = Some(user_id.clone()),
    }
    Some(Live { session, app: live.app.clone(), ip: live.ip, unannounced: false, dialect: live.dialect })
}

// ------------------------------------------------------------------------------------- packets

/// 9: a file's checksum, size and transfer statistics. Needs no authorization.
pub async fn metadata(conn: &mut Conn, id: u64, req: FileName) -> Flow {
    if name_too_short(&req.filename) {
        conn.status(id, Status::FileInvalidName).await;
        return Flow::Continue;
    }
    let Some(live) = conn.live() else { return Flow::Close(Close::NOT_INITIALIZED) };
    match file_named(&conn.state, &live.app.app.id, &req.filename).await {
        Ok(Some(file)) => {
            let body = Metadata {
                checksum: &file.sha256,
                size: file.size,
                transfer_count: file.transfer_count,
                last_transferred_at: file.last_transferred_at.map(|t| t.timestamp()),
            };
            conn.reply(id, Status::Ok, &body).await;
        }
        Ok(None) => {
            conn.status(id, Status::FileNotFound).await;
        }
        Err(e) => {
            conn.status(id, status_of(&e)).await;
        }
    }
    Flow::Continue
}

/// 7: send a file, or its tail from `resume_at`.
pub async fn start(conn: &mut Conn, id: u64, req: TransferFile) -> Flow {
    let status = match begin(conn, id, &req).await {
        Ok(()) => return Flow::Continue,
        Err(status) => status,
    };
    conn.status(id, status).await;
    Flow::Continue
}

/// Check the request, answer it and start the transfer's task; the refusal's status otherwise
/// (nothing answered, nothing started).
async fn begin(conn: &mut Conn, id: u64, req: &TransferFile) -> Result<(), Status> {
    let live = authorized_live(conn).ok_or(Status::NotAuthorized)?;
    let name = req.filename.as_str();
    if name_too_short(name) {
        return Err(Status::FileInvalidName);
    }
    conn.transfers.prune();
    if conn.transfers.busy(name) {
        return Err(Status::FileAlreadyBeingTransferred);
    }
    let state = conn.state.clone();
    let refuse = |e: DomainError| status_of(&e);
    let found = file_named(&state, &live.app.app.id, name).await.map_err(refuse)?;
    let found = found.ok_or(Status::FileNotFound)?;
    let download = client::files::for_download(&state, &live, &found.id).await.map_err(refuse)?;
    let file = &download.file;

    let blob = FileVault::from_state(&state).open(&file.app_id, &file.id).await.map_err(|e| storage(file, &e))?;
    let size = blob.size();
    if u64::try_from(file.size).ok() != Some(size) {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidData, "the blob's size is not the row's");
        return Err(storage(file, &e));
    }
    if req.resume_at > size {
        return Err(Status::FileInvalidResumeOffset);
    }
    let stream = if req.resume_at < size {
        Some(blob.range(req.resume_at, size - 1).await.map_err(|e| storage(file, &e))?)
    } else {
        None
    };

    // Logged as the HTTP download route logs, as the transfer starts; a transfer from the first
    // byte is a download (`file.download`, the file's transfer count).
    let message = if req.resume_at == 0 {
        Some(format!("file.download {}", file.name))
    } else if req.resume_at < size {
        Some(format!("file.download {} bytes {}-{}/{size}", file.name, req.resume_at, size - 1))
    } else {
        None
    };
    if let Some(message) = message {
        client::files::log_download(&state, &live, conn.ip, download.username(), message).await.map_err(refuse)?;
    }
    if req.resume_at == 0 {
        client::files::announce_download(&state, &live, &download).await.map_err(refuse)?;
    }

    if !conn.reply(id, Status::Ok, &Started { file_size: size }).await {
        return Ok(());
    }
    let (stop, stopped) = oneshot::channel();
    let sending = Sending {
        state: state.clone(),
        out: conn.out.clone(),
        id,
        offset: req.resume_at,
        file_checksum: file.sha256.clone(),
        file_id: file.id.clone(),
    };
    let task = tokio::spawn(sending.run(stream, stopped));
    conn.transfers.by_name.insert(name.to_owned(), Transfer { id, stop, task });
    Ok(())
}

/// A stored file that cannot be read: logged here (no secret in it), answered 6.
fn storage(file: &FileMeta, e: &std::io::Error) -> Status {
    tracing::error!(error = %e, file = %file.id, app = %file.app_id, "cannot read a stored file");
    Status::InternalServerError
}

/// What a transfer's task needs.
struct Sending {
    state: AppState,
    out: Outgoing,
    id: u64,
    /// The offset of the next byte to send.
    offset: u64,
    file_checksum: String,
    file_id: String,
}

impl Sending {
    /// Send the chunks, then the final packet, unless told to stop first. Each wait (for the
    /// next chunk from the store, for room in the writer's queue) gives way to `stop`.
    async fn run(mut self, stream: Option<PlaintextStream>, mut stop: oneshot::Receiver<()>) -> Outcome {
        let mut range = Sha256::new();
        if let Some(mut stream) = stream {
            loop {
                let next = tokio::select! {
                    biased;
                    _ = &mut stop => return Outcome::Stopped,
                    next = stream.next() => next,
                };
                let bytes = match next {
                    None => break,
                    Some(Ok(bytes)) => bytes,
                    Some(Err(e)) => {
                        tracing::error!(error = %e, file = %self.file_id, "a stored file failed mid-transfer");
                        let failed = signed(&self.state, self.id, Status::InternalServerError, &());
                        self.out.send(failed).await;
                        return Outcome::Failed;
                    }
                };
                range.update(&bytes);
                let frame = Out::Binary(chunk_frame(self.id, self.offset, &bytes));
                self.offset += bytes.len() as u64;
                match self.queue(frame, &mut stop).await {
                    Ok(true) => {}
                    Ok(false) => return Outcome::Failed,
                    Err(stopped) => return stopped,
                }
            }
        }
        let range = hex::encode(range.finalize());
        let body = Finished { file_checksum: &self.file_checksum, range_checksum: &range };
        let done = signed(&self.state, self.id, Status::Ok, &body);
        match self.queue(done, &mut stop).await {
            Ok(true) => Outcome::Completed,
            Ok(false) => Outcome::Failed,
            Err(stopped) => stopped,
        }
    }

    /// Queue a frame, waiting for room; `Err(Stopped)` when told to stop first, `Ok(false)`
    /// when the socket is gone.
    async fn queue(&self, out: Out, stop: &mut oneshot::Receiver<()>) -> Result<bool, Outcome> {
        tokio::select! {
            biased;
            _ = stop => Err(Outcome::Stopped),
            sent = self.out.send(out) => Ok(sent),
        }
    }
}

/// 8: stop the running transfer of a file. Answered 1, then that transfer's stream ends with a
/// `{id: <the transfer's id>, status: 304}` packet; 305 when no transfer of that name is sending.
pub async fn stop(conn: &mut Conn, id: u64, req: FileName) -> Flow {
    let Some(transfer) = conn.transfers.by_name.remove(&req.filename) else {
        conn.status(id, Status::FileNotBeingTransferred).await;
        return Flow::Continue;
    };
    let Transfer { id: transfer_id, stop, task } = transfer;
    let _ = stop.send(());
    // The task gives way at once; an end it reached before (its final packet queued) stands.
    let outcome = task.await.unwrap_or(Outcome::Failed);
    if outcome == Outcome::Stopped {
        conn.status(id, Status::Ok).await;
        conn.status(transfer_id, Status::FileTransferStopped).await;
    } else {
        conn.status(id, Status::FileNotBeingTransferred).await;
    }
    Flow::Continue
}

/// The connection is ending: stop whatever it is sending.
pub fn stop_all(conn: &mut Conn) {
    for (_, transfer) in conn.transfers.by_name.drain() {
        transfer.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_frame_is_length_header_bytes() {
        let frame = chunk_frame(18_446_744_073_709_551_615, 65_536, b"abc");
        let n = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        let header: Value = serde_json::from_slice(&frame[4..4 + n]).unwrap();
        assert_eq!(header, serde_json::json!({"id": 18_446_744_073_709_551_615u64, "offset": 65_536, "length": 3}));
        assert_eq!(&frame[4 + n..], b"abc");
    }

    #[test]
    fn names_shorter_than_four_characters_are_invalid() {
        assert!(name_too_short("abc"));
        assert!(name_too_short("ééé"));
        assert!(!name_too_short("éééé"));
        assert!(!name_too_short("a.bin"));
    }
}
