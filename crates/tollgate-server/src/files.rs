//! Uploaded files, encrypted at rest.
//!
//! Layout: `<data_dir>/files/<app_id>/<file_id>.bin`. An upload is written to
//! `.<file_id>.bin.tmp` in the same folder, fsynced, then renamed into place (and the folder
//! fsynced), so a failed or aborted upload leaves no blob behind.
//!
//! Blob format: a 12-byte header — magic `TGFE`, format version `1`, the 7-byte random STREAM
//! nonce prefix — then the plaintext in 64 KiB chunks, each sealed with AES-256-GCM in the
//! STREAM construction (`EncryptorBE32`: 32-bit big-endian chunk counter plus a last-chunk flag in
//! the nonce, so chunks cannot be reordered, dropped or the file truncated undetected). Every
//! chunk is a full 64 KiB + 16-byte tag except the last, which holds 0..=64 KiB; the header is
//! the associated data of every chunk.
//!
//! Keys: the key-encryption key is `master.derive("files")`; each file's key is
//! HKDF-SHA256(KEK, info = `tollgate/file/v1` ‖ 0 ‖ app_id ‖ 0 ‖ file_id). Nothing secret is
//! stored with the blob, and a blob copied under another app or id does not decrypt.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use aes_gcm::aead::stream::{EncryptorBE32, NewStream, StreamBE32, StreamPrimitive};
use aes_gcm::aead::KeyInit;
use aes_gcm::Aes256Gcm;
use bytes::Bytes;
use futures::Stream;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::crypto::MasterKey;
use crate::state::AppState;

/// Plaintext bytes per encrypted chunk.
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const MAGIC: &[u8; 4] = b"TGFE";
const VERSION: u8 = 1;
const NONCE_PREFIX: usize = 7;
pub const HEADER_LEN: usize = MAGIC.len() + 1 + NONCE_PREFIX;

/// The plaintext of a stored file, chunk by chunk. A chunk that fails authentication ends the
/// stream with an `InvalidData` error; its bytes are never yielded.
pub type PlaintextStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// What an upload wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// Plaintext size in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
}

/// Where blobs live and the key they are sealed under.
#[derive(Clone)]
pub struct FileVault {
    root: PathBuf,
    kek: [u8; 32],
}

impl std::fmt::Debug for FileVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileVault").field("root", &self.root).finish_non_exhaustive()
    }
}

fn invalid_data(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// Ids become path components: only the characters our id generator produces are accepted.
fn safe_id(id: &str) -> io::Result<&str> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidInput, "not a valid id"))
    }
}

impl FileVault {
    pub fn new(data_dir: &Path, master: &MasterKey) -> FileVault {
        FileVault { root: data_dir.join("files"), kek: master.derive("files") }
    }

    pub fn from_state(state: &AppState) -> FileVault {
        FileVault::new(&state.config.data_dir, &state.master)
    }

    /// `<data_dir>/files`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn app_dir(&self, app_id: &str) -> io::Result<PathBuf> {
        Ok(self.root.join(safe_id(app_id)?))
    }

    /// Where a committed blob lives.
    pub fn blob_path(&self, app_id: &str, file_id: &str) -> io::Result<PathBuf> {
        Ok(self.app_dir(app_id)?.join(format!("{}.bin", safe_id(file_id)?)))
    }

    fn file_key(&self, app_id: &str, file_id: &str) -> aes_gcm::Key<Aes256Gcm> {
        let hk = Hkdf::<Sha256>::new(None, &self.kek);
        let mut info = Vec::with_capacity(32 + app_id.len() + file_id.len());
        info.extend_from_slice(b"tollgate/file/v1\0");
        info.extend_from_slice(app_id.as_bytes());
        info.push(0);
        info.extend_from_slice(file_id.as_bytes());
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's output limit.
        let _ = hk.expand(&info, &mut key);
        key.into()
    }

    /// Start writing a new blob. Nothing is visible under the final name until
    /// [`BlobWriter::finish`]; dropping the writer before that removes the temporary file.
    pub async fn create(&self, app_id: &str, file_id: &str) -> io::Result<BlobWriter> {
        let dir = self.app_dir(app_id)?;
        let dest = self.blob_path(app_id, file_id)?;
        let tmp = dir.join(format!(".{file_id}.bin.tmp"));
        tokio::fs::create_dir_all(&dir).await?;
        let mut opts = tokio::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let mut file = opts.open(&tmp).await?;
        let mut writer_guard = TmpGuard(Some(tmp.clone()));
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(MAGIC);
        header[4] = VERSION;
        tollgate_core::ids::fill_random(&mut header[5..]);
        file.write_all(&header).await?;
        let key = self.file_key(app_id, file_id);
        let enc = EncryptorBE32::<Aes256Gcm>::from_aead(Aes256Gcm::new(&key), header[5..].into());
        writer_guard.0 = None;
        Ok(BlobWriter {
            file: Some(file),
            enc: Some(enc),
            header,
            pending: Vec::with_capacity(CHUNK + TAG),
            hasher: Sha256::new(),
            size: 0,
            tmp,
            dest,
            committed: false,
        })
    }

    /// Open a blob for reading: checks the header and works out the plaintext size from the
    /// blob's length. Errors: `NotFound` if there is no blob, `InvalidData` if the header is not
    /// ours or the length is not one a sealed blob can have (truncation).
    pub async fn open(&self, app_id: &str, file_id: &str) -> io::Result<OpenBlob> {
        let path = self.blob_path(app_id, file_id)?;
        let mut file = tokio::fs::File::open(&path).await?;
        let len = file.metadata().await?.len();
        if len < (HEADER_LEN + TAG) as u64 {
            return Err(invalid_data("encrypted file is truncated"));
        }
        let mut header = [0u8; HEADER_LEN];
        file.read_exact(&mut header).await?;
        if &header[..4] != MAGIC || header[4] != VERSION {
            return Err(invalid_data("not a Tollgate encrypted file"));
        }
        let sealed = len - HEADER_LEN as u64;
        let full = (CHUNK + TAG) as u64;
        // Every chunk but the last is full; the last holds at least its tag. A plaintext that is
        // a whole number of chunks ends with a full chunk (no empty chunk after it).
        let chunks = sealed.div_ceil(full).max(1);
        let last_len = sealed - (chunks - 1) * full;
        if last_len < TAG as u64 || u32::try_from(chunks - 1).is_err() {
            return Err(invalid_data("encrypted file is truncated"));
        }
        let size = sealed - chunks * TAG as u64;
        let key = self.file_key(app_id, file_id);
        let stream = StreamBE32::<Aes256Gcm>::from_aead(Aes256Gcm::new(&key), header[5..].into());
        Ok(OpenBlob { file, stream, header, chunks, size })
    }

    /// Stream a blob's plaintext back, the whole of it. Errors as [`FileVault::open`]; a chunk
    /// that fails authentication (tampering, wrong key, truncation) ends the stream with
    /// `InvalidData`.
    pub async fn open_decrypted(&self, app_id: &str, file_id: &str) -> io::Result<PlaintextStream> {
        self.open(app_id, file_id).await?.whole().await
    }

    /// Stream the plaintext bytes `start..=end_inclusive` of a blob, decrypting only the chunks
    /// that hold them. `InvalidInput` when the range is empty or reaches past the end.
    pub async fn open_range(
        &self,
        app_id: &str,
        file_id: &str,
        start: u64,
        end_inclusive: u64,
    ) -> io::Result<PlaintextStream> {
        self.open(app_id, file_id).await?.range(start, end_inclusive).await
    }

    /// Remove a blob; a blob that is already gone is not an error.
    pub async fn remove(&self, app_id: &str, file_id: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.blob_path(app_id, file_id)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Remove every blob of an app (after the app itself is deleted).
    pub async fn remove_app(&self, app_id: &str) -> io::Result<()> {
        match tokio::fs::remove_dir_all(self.app_dir(app_id)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Delete temporary files of uploads that died with the process (untouched for `older_than`,
    /// so an upload in flight on another node sharing the folder is left alone). Returns how many.
    pub fn sweep_temp(&self, older_than: Duration) -> io::Result<usize> {
        let apps = match std::fs::read_dir(&self.root) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let cutoff = SystemTime::now().checked_sub(older_than).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut removed = 0;
        for app in apps.flatten() {
            let Ok(entries) = std::fs::read_dir(app.path()) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name();
                let is_tmp = name.to_str().is_some_and(|n| n.starts_with('.') && n.ends_with(".bin.tmp"));
                let old = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t <= cutoff);
                if is_tmp && old && std::fs::remove_file(e.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// A blob opened for reading, its header checked; nothing decrypted yet.
pub struct OpenBlob {
    file: tokio::fs::File,
    stream: StreamBE32<Aes256Gcm>,
    header: [u8; HEADER_LEN],
    /// Sealed chunks in the blob (at least one: an empty file has one empty chunk).
    chunks: u64,
    size: u64,
}

impl std::fmt::Debug for OpenBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenBlob").field("chunks", &self.chunks).field("size", &self.size).finish_non_exhaustive()
    }
}

impl OpenBlob {
    /// Plaintext size in bytes, as the blob's length says.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The whole plaintext; every chunk is authenticated, the empty one of an empty file too.
    pub async fn whole(self) -> io::Result<PlaintextStream> {
        let last = self.chunks - 1;
        let size = self.size;
        self.chunk_span(0, last, 0, size).await
    }

    /// The plaintext bytes `start..=end_inclusive`: seeks to the chunk holding `start` and
    /// decrypts up to the one holding `end_inclusive`, each at its own STREAM position (and
    /// with the last-chunk flag where it is the blob's last), then trims to the exact bytes.
    pub async fn range(self, start: u64, end_inclusive: u64) -> io::Result<PlaintextStream> {
        if start > end_inclusive || end_inclusive >= self.size {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "range outside the file"));
        }
        let chunk = CHUNK as u64;
        let (first, last) = (start / chunk, end_inclusive / chunk);
        self.chunk_span(first, last, start - first * chunk, end_inclusive - start + 1).await
    }

    /// Decrypt chunks `first..=last`, skip `skip` plaintext bytes of the first, yield `take`.
    async fn chunk_span(mut self, first: u64, last: u64, skip: u64, take: u64) -> io::Result<PlaintextStream> {
        let full = (CHUNK + TAG) as u64;
        self.file.seek(io::SeekFrom::Start(HEADER_LEN as u64 + first * full)).await?;
        let state = SpanState { blob: self, next: first, last, skip, left: take };
        let stream = futures::stream::try_unfold(state, move |mut st| async move {
            if st.next > st.last {
                return Ok(None);
            }
            let index = st.next;
            let is_last = index == st.blob.chunks - 1;
            let sealed = st.blob.size + st.blob.chunks * TAG as u64;
            let n = if is_last { sealed - index * full } else { full };
            let mut buf = vec![0u8; n as usize];
            st.blob.file.read_exact(&mut buf).await?;
            let position = u32::try_from(index).map_err(|_| invalid_data("encrypted file is too large"))?;
            st.blob
                .stream
                .decrypt_in_place(position, is_last, &st.blob.header, &mut buf)
                .map_err(|_| invalid_data("encrypted file failed authentication"))?;
            st.next += 1;
            let mut bytes = Bytes::from(buf);
            let skip = std::mem::take(&mut st.skip).min(bytes.len() as u64) as usize;
            let keep = (bytes.len() - skip).min(usize::try_from(st.left).unwrap_or(usize::MAX));
            bytes = bytes.slice(skip..skip + keep);
            st.left -= keep as u64;
            Ok(Some((bytes, st)))
        });
        Ok(Box::pin(stream))
    }
}

struct SpanState {
    blob: OpenBlob,
    /// The next chunk to decrypt.
    next: u64,
    /// The last chunk to decrypt.
    last: u64,
    /// Plaintext bytes still to drop at the start of the next chunk.
    skip: u64,
    /// Plaintext bytes still to yield.
    left: u64,
}

/// Removes a path on drop unless disarmed.
struct TmpGuard(Option<PathBuf>);

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// An upload in progress: plaintext in, sealed chunks out, SHA-256 and size counted on the way.
pub struct BlobWriter {
    file: Option<tokio::fs::File>,
    enc: Option<EncryptorBE32<Aes256Gcm>>,
    header: [u8; HEADER_LEN],
    /// Plaintext not yet sealed; at most `CHUNK` bytes. A full chunk is sealed only once more
    /// data arrives, so the last chunk is known when `finish` is called.
    pending: Vec<u8>,
    hasher: Sha256,
    size: u64,
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl BlobWriter {
    /// Plaintext bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        self.hasher.update(data);
        self.size += data.len() as u64;
        while !data.is_empty() {
            if self.pending.len() == CHUNK {
                self.seal_pending().await?;
            }
            let take = (CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    async fn seal_pending(&mut self) -> io::Result<()> {
        let enc = self.enc.as_mut().ok_or_else(|| io::Error::other("writer already finished"))?;
        enc.encrypt_next_in_place(&self.header, &mut self.pending)
            .map_err(|_| io::Error::other("file too large to encrypt"))?;
        let file = self.file.as_mut().ok_or_else(|| io::Error::other("writer already finished"))?;
        file.write_all(&self.pending).await?;
        self.pending.clear();
        Ok(())
    }

    /// Seal the last chunk, fsync, and move the blob under its final name.
    pub async fn finish(mut self) -> io::Result<StoredBlob> {
        let enc = self.enc.take().ok_or_else(|| io::Error::other("writer already finished"))?;
        enc.encrypt_last_in_place(&self.header, &mut self.pending)
            .map_err(|_| io::Error::other("file too large to encrypt"))?;
        let mut file = self.file.take().ok_or_else(|| io::Error::other("writer already finished"))?;
        file.write_all(&self.pending).await?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&self.tmp, &self.dest).await?;
        self.committed = true;
        if let Err(e) = sync_dir(self.dest.parent()).await {
            let _ = tokio::fs::remove_file(&self.dest).await;
            return Err(e);
        }
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        Ok(StoredBlob { size: self.size, sha256 })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Make a rename durable: fsync the folder that holds the entry.
async fn sync_dir(dir: Option<&Path>) -> io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = dir {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all()).await.map_err(io::Error::other)??;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// File names: 1 to 255 characters after trimming, no `/`, `\` or control characters.
pub fn validate_file_name(field: &str, name: &str) -> Result<String, tollgate_core::DomainError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > 255 {
        return Err(tollgate_core::DomainError::validation(field, "must be 1 to 255 characters"));
    }
    if name.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
        return Err(tollgate_core::DomainError::validation(field, "must not contain '/', '\\' or control characters"));
    }
    Ok(name.to_owned())
}

/// `minLevel` as sent in a form: an integer of 0 or more.
pub fn parse_min_level(field: &str, raw: &str) -> Result<i64, tollgate_core::DomainError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| tollgate_core::DomainError::validation(field, "must be an integer of 0 or more"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    fn vault(dir: &Path) -> FileVault {
        let master = crate::crypto::parse_master_key(&"11".repeat(32)).unwrap();
        FileVault::new(dir, &master)
    }

    async fn read_all(v: &FileVault, app: &str, id: &str) -> io::Result<Vec<u8>> {
        let chunks: Vec<Bytes> = v.open_decrypted(app, id).await?.try_collect().await?;
        Ok(chunks.concat())
    }

    #[tokio::test]
    async fn round_trips_at_chunk_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        for (i, len) in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17].into_iter().enumerate() {
            let data: Vec<u8> = (0..len).map(|j| (j * 31 + i) as u8).collect();
            let id = format!("file_{i}");
            let mut w = v.create("app_x", &id).await.unwrap();
            // odd write sizes so chunks straddle writes
            for part in data.chunks(1000) {
                w.write(part).await.unwrap();
            }
            let stored = w.finish().await.unwrap();
            assert_eq!(stored.size, len as u64);
            assert_eq!(stored.sha256, hex::encode(Sha256::digest(&data)));
            assert_eq!(read_all(&v, "app_x", &id).await.unwrap(), data, "len {len}");
            let on_disk = std::fs::metadata(v.blob_path("app_x", &id).unwrap()).unwrap().len();
            let chunks = if len == 0 { 1 } else { len.div_ceil(CHUNK) };
            assert_eq!(on_disk, (HEADER_LEN + len + chunks * TAG) as u64);
        }
    }

    #[tokio::test]
    async fn wrong_place_truncation_and_dropped_writer_fail_safe() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        let data = vec![7u8; 2 * CHUNK + 5];
        let mut w = v.create("app_x", "file_a").await.unwrap();
        w.write(&data).await.unwrap();
        w.finish().await.unwrap();
        let path = v.blob_path("app_x", "file_a").unwrap();
        // moved under another id: the key differs
        std::fs::create_dir_all(dir.path().join("files/app_y")).unwrap();
        std::fs::copy(&path, v.blob_path("app_y", "file_a").unwrap()).unwrap();
        assert_eq!(read_all(&v, "app_y", "file_a").await.unwrap_err().kind(), io::ErrorKind::InvalidData);
        // truncated at a chunk boundary: the last-chunk flag is missing
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..HEADER_LEN + CHUNK + TAG]).unwrap();
        assert_eq!(read_all(&v, "app_x", "file_a").await.unwrap_err().kind(), io::ErrorKind::InvalidData);
        // other master key
        let other = FileVault::new(dir.path(), &crate::crypto::parse_master_key(&"22".repeat(32)).unwrap());
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_all(&v, "app_x", "file_a").await.is_ok());
        assert!(read_all(&other, "app_x", "file_a").await.is_err());
        // an unfinished writer leaves nothing
        let mut w = v.create("app_x", "file_b").await.unwrap();
        w.write(&data).await.unwrap();
        drop(w);
        let left: Vec<_> =
            std::fs::read_dir(dir.path().join("files/app_x")).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("file_a.bin")]);
        assert!(v.blob_path("app_x", "../x").is_err());
    }

    async fn stored(v: &FileVault, id: &str, data: &[u8]) {
        let mut w = v.create("app_x", id).await.unwrap();
        w.write(data).await.unwrap();
        w.finish().await.unwrap();
    }

    async fn read_range(v: &FileVault, id: &str, start: u64, end: u64) -> io::Result<Vec<u8>> {
        let chunks: Vec<Bytes> = v.open_range("app_x", id, start, end).await?.try_collect().await?;
        Ok(chunks.concat())
    }

    #[tokio::test]
    async fn ranges_at_chunk_boundaries_yield_exactly_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        let c = CHUNK as u64;
        for len in [1u64, c - 1, c, c + 1, 2 * c, 3 * c + 17] {
            let data: Vec<u8> = (0..len).map(|j| (j * 7 + j / 251) as u8).collect();
            let id = format!("file_{len}");
            stored(&v, &id, &data).await;
            assert_eq!(v.open("app_x", &id).await.unwrap().size(), len);
            let last = len - 1;
            let mut ranges = vec![(0, 0), (0, last), (last, last), (last / 2, last)];
            for b in [c - 1, c, c + 1, 2 * c - 1, 2 * c, 3 * c - 1, 3 * c] {
                if b <= last {
                    ranges.push((b, b));
                    ranges.push((b, last));
                    ranges.push((b.saturating_sub(3), (b + 2).min(last)));
                    ranges.push((0, b));
                }
            }
            for (a, b) in ranges {
                let got = read_range(&v, &id, a, b).await.unwrap();
                assert!(got == data[a as usize..=b as usize], "len {len} range {a}-{b}: {} bytes", got.len());
            }
            // past the end, reversed: refused before anything is read
            for (a, b) in [(0, len), (len, len), (3, 2)] {
                let e = read_range(&v, &id, a, b).await.unwrap_err();
                assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "len {len} range {a}-{b}");
            }
        }
        // an empty file has no byte to ask for, and reads back empty (its one chunk checked)
        stored(&v, "file_empty", b"").await;
        assert_eq!(v.open("app_x", "file_empty").await.unwrap().size(), 0);
        assert_eq!(read_range(&v, "file_empty", 0, 0).await.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert!(read_all(&v, "app_x", "file_empty").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_tampered_chunk_fails_only_the_reads_that_cover_it() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        let c = CHUNK as u64;
        let data: Vec<u8> = (0..3 * c + 100).map(|j| (j % 253) as u8).collect();
        stored(&v, "file_t", &data).await;
        let path = v.blob_path("app_x", "file_t").unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        // one bit of chunk 1 (the second)
        bytes[HEADER_LEN + CHUNK + TAG + 10] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        // chunks 0, 2 and 3 are still authentic
        assert!(read_range(&v, "file_t", 0, c - 1).await.unwrap() == data[..CHUNK]);
        assert!(read_range(&v, "file_t", 2 * c, 3 * c + 99).await.unwrap() == data[2 * CHUNK..]);
        for (a, b) in [(c, c), (c - 1, c), (0, 3 * c + 99), (2 * c - 1, 2 * c)] {
            let e = read_range(&v, "file_t", a, b).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "range {a}-{b}");
        }
        // the stream gives chunk 0, then the error: never a byte of the tampered chunk
        let mut s = v.open_decrypted("app_x", "file_t").await.unwrap();
        assert!(s.try_next().await.unwrap().unwrap() == data[..CHUNK]);
        assert_eq!(s.try_next().await.unwrap_err().kind(), io::ErrorKind::InvalidData);

        // chunks moved around: each decrypts only at its own position
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER_LEN + CHUNK + TAG + 10] ^= 1;
        let full = CHUNK + TAG;
        let (c0, c2) = (HEADER_LEN, HEADER_LEN + 2 * full);
        let chunk0 = bytes[c0..c0 + full].to_vec();
        bytes.copy_within(c2..c2 + full, c0);
        bytes[c2..c2 + full].copy_from_slice(&chunk0);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_range(&v, "file_t", 0, 0).await.unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(read_range(&v, "file_t", 2 * c, 2 * c).await.unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert!(read_range(&v, "file_t", c, c + 5).await.unwrap() == data[CHUNK..CHUNK + 6]);

        // a last chunk shorter than its tag: not a length a sealed blob can have
        std::fs::write(&path, &bytes[..HEADER_LEN + 3 * full + 5]).unwrap();
        assert_eq!(v.open("app_x", "file_t").await.unwrap_err().kind(), io::ErrorKind::InvalidData);
        // cut at a chunk boundary: the new last chunk lacks the last-chunk flag
        std::fs::write(&path, &bytes[..HEADER_LEN + 2 * full]).unwrap();
        assert_eq!(v.open("app_x", "file_t").await.unwrap().size(), 2 * c);
        let e = read_range(&v, "file_t", c, c).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn sweep_removes_only_old_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        let app = dir.path().join("files/app_x");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(app.join(".file_a.bin.tmp"), b"x").unwrap();
        std::fs::write(app.join("file_b.bin"), b"x").unwrap();
        assert_eq!(v.sweep_temp(Duration::from_secs(3600)).unwrap(), 0);
        assert_eq!(v.sweep_temp(Duration::ZERO).unwrap(), 1);
        assert!(app.join("file_b.bin").exists());
    }

    #[test]
    fn names_and_levels() {
        assert_eq!(validate_file_name("name", " module.exe ").unwrap(), "module.exe");
        for bad in ["", "  ", "a/b", "a\\b", "a\nb", &"x".repeat(256)] {
            assert!(validate_file_name("name", bad).is_err(), "{bad:?}");
        }
        assert!(validate_file_name("name", &"é".repeat(255)).is_ok());
        assert_eq!(parse_min_level("minLevel", " 3 ").unwrap(), 3);
        for bad in ["-1", "x", "", "1.5"] {
            assert!(parse_min_level("minLevel", bad).is_err(), "{bad:?}");
        }
    }
}
