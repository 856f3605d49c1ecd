//! Streaming a file to disk: into a `.part` sibling of the destination, resumed with `Range`
//! when a `.part` is already there, hashed as it is written, and renamed into place only when
//! the SHA-256 of the whole file equals the signed one.
//!
//! The download route's bytes are not signed (they could be gigabytes); the signed `file`
//! answer's `sha256` is what makes them trustworthy. So nothing reaches `dest` unless it hashes
//! to that value, and a `.part` that does not is deleted rather than resumed again.

use std::path::{Path, PathBuf};

use reqwest::header::{CONTENT_RANGE, IF_RANGE, RANGE};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::signed::transport;
use crate::{Error, FileInfo};

/// The header the session token travels in, so it is not in the URL (and in proxies' logs).
const SESSION_HEADER: &str = "x-session-token";

/// The `.part` sibling of `dest`: the same name with `.part` added.
pub(crate) fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    dest.with_file_name(name)
}

/// The absolute URL of the download: the server's root plus the relative `download_url`
/// from the signed `file` answer, with any `token` query parameter dropped (the token goes in
/// [`SESSION_HEADER`]). A URL that is not relative to the server is refused: the session token
/// is never sent to another host.
fn absolute(base: &str, download_url: &str) -> Result<url::Url, Error> {
    if !download_url.starts_with('/') || download_url.starts_with("//") {
        return Err(Error::Protocol("the download URL is not relative to the server".into()));
    }
    let mut url = url::Url::parse(&format!("{base}{download_url}"))
        .map_err(|_| Error::Protocol("the download URL is not a URL".into()))?;
    let kept: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| k != "token").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok(url)
}

/// Download `info` to `dest` (see [`crate::Client::download`]).
pub(crate) async fn fetch(
    http: &reqwest::Client,
    base: &str,
    download_url: &str,
    session: &str,
    info: &FileInfo,
    dest: &Path,
) -> Result<(), Error> {
    let url = absolute(base, download_url)?;
    let part = part_path(dest);
    let mut have = match tokio::fs::metadata(&part).await {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    if have > info.size {
        // Longer than the file: not a prefix of it.
        tokio::fs::remove_file(&part).await?;
        have = 0;
    }
    let mut file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&part).await?;
    let mut hasher = Sha256::new();
    if have > 0 {
        hash_prefix(&mut file, &mut hasher, have).await?;
    }
    if have < info.size {
        let mut req = http.get(url).header(SESSION_HEADER, session);
        if have > 0 {
            // `If-Range` with the file's ETag (its SHA-256, quoted): if the server's file is not
            // the one the signed answer describes, it sends the whole file instead of a range.
            req = req.header(RANGE, format!("bytes={have}-")).header(IF_RANGE, format!("\"{}\"", info.sha256));
        }
        let res = req.send().await.map_err(transport)?;
        match res.status() {
            StatusCode::PARTIAL_CONTENT if have > 0 => {
                let range = res.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
                if !range.starts_with(&format!("bytes {have}-")) || !range.ends_with(&format!("/{}", info.size)) {
                    drop(file);
                    tokio::fs::remove_file(&part).await?;
                    return Err(Error::Protocol(format!("asked for bytes {have}- and got `{range}`")));
                }
            }
            StatusCode::OK => {
                // The whole file: start over.
                file.set_len(0).await?;
                file.seek(std::io::SeekFrom::Start(0)).await?;
                hasher = Sha256::new();
                have = 0;
            }
            status => {
                drop(file);
                if status == StatusCode::RANGE_NOT_SATISFIABLE {
                    // The server's file no longer reaches past the part: resuming cannot work.
                    tokio::fs::remove_file(&part).await?;
                }
                return Err(refusal(status, res).await);
            }
        }
        file.seek(std::io::SeekFrom::Start(have)).await?;
        let mut res = res;
        while let Some(chunk) = res.chunk().await.map_err(transport)? {
            have += chunk.len() as u64;
            if have > info.size {
                drop(file);
                tokio::fs::remove_file(&part).await?;
                return Err(Error::Protocol(format!("the server sent more than the file's {} bytes", info.size)));
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
    }
    file.flush().await?;
    file.sync_all().await?;
    drop(file);
    let actual = hex::encode(hasher.finalize());
    if have != info.size || actual != info.sha256 {
        tokio::fs::remove_file(&part).await?;
        return Err(Error::Integrity { expected: info.sha256.clone(), actual });
    }
    tokio::fs::rename(&part, dest).await?;
    Ok(())
}

/// Feed the first `len` bytes of `file` to `hasher`, leaving the cursor at `len`.
async fn hash_prefix(file: &mut File, hasher: &mut Sha256, len: u64) -> Result<(), Error> {
    file.seek(std::io::SeekFrom::Start(0)).await?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = file.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(Error::Io(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the .part file shrank")));
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

/// The download route's refusal as [`Error::Refused`]. Its error bodies are the same
/// `{success, code, message}` shape as the client API's but not signed; they only describe the
/// refusal, and nothing is written from them.
async fn refusal(status: StatusCode, res: reqwest::Response) -> Error {
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    Error::Refused {
        status: status.as_u16(),
        code: text("code").unwrap_or_else(|| "DOWNLOAD_FAILED".into()),
        message: text("message").unwrap_or_else(|| format!("the download answered {status}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_part_file_is_a_sibling() {
        assert_eq!(part_path(Path::new("/tmp/x/app.bin")), PathBuf::from("/tmp/x/app.bin.part"));
        assert_eq!(part_path(Path::new("app")), PathBuf::from("app.part"));
    }

    #[test]
    fn the_token_leaves_the_url_and_other_hosts_are_refused() {
        let u = absolute("http://127.0.0.1:8080", "/v1/files/download/file_1?token=secret").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:8080/v1/files/download/file_1");
        let u = absolute("https://h.example/base", "/v1/files/download/f?a=1&token=t").unwrap();
        assert_eq!(u.as_str(), "https://h.example/base/v1/files/download/f?a=1");
        assert!(matches!(absolute("http://h", "//evil.example/x"), Err(Error::Protocol(_))));
        assert!(matches!(absolute("http://h", "https://evil.example/x"), Err(Error::Protocol(_))));
    }
}
