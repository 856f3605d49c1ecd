//! After signing in: download the app's file into a private temporary folder (the SDK checks
//! its SHA-256), then run it when it is a program, or save it in the current folder.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use tollgate_client::{Client, Session};

use crate::{Failure, LOCAL};

/// Download `file_id` and run or save it; the exit code to leave with.
pub async fn fetch_and_run(client: &Client, session: &Session, file_id: &str) -> Result<u8, Failure> {
    let info = client.file(&session.token, file_id).await?;
    // tempfile makes the folder readable by its owner only (0700) and removes it when dropped.
    let dir = tempfile::Builder::new()
        .prefix("tollgate-loader-")
        .tempdir()
        .map_err(|e| Failure::new(LOCAL, format!("cannot create a temporary folder: {e}")))?;
    let name = file_name(&info.name);
    let path = dir.path().join(&name);
    client.download(&session.token, file_id, &path).await?;

    if is_program(&path) {
        let code = execute(&path, session)?;
        drop(dir);
        Ok(code)
    } else {
        let saved = save(&path, &name)?;
        println!("saved {}", saved.display());
        Ok(0)
    }
}

/// The last component of the server's file name, never empty or a path.
fn file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    match last {
        "" | "." | ".." => "download".to_owned(),
        _ => last.to_owned(),
    }
}

/// An executable this system can start: ELF, Mach-O or a `#!` script (a PE `MZ` on Windows).
fn is_program(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let Ok(mut f) = fs::File::open(path) else { return false };
    let n = f.read(&mut head).unwrap_or(0);
    let head = &head[..n];
    if cfg!(windows) {
        return head.starts_with(b"MZ");
    }
    head.starts_with(b"\x7fELF")
        || head.starts_with(b"#!")
        || [
            [0xfe, 0xed, 0xfa, 0xce],
            [0xfe, 0xed, 0xfa, 0xcf],
            [0xce, 0xfa, 0xed, 0xfe],
            [0xcf, 0xfa, 0xed, 0xfe],
            [0xca, 0xfe, 0xba, 0xbe],
        ]
        .iter()
        .any(|magic| head == magic)
}

/// Run the program with the loader's own arguments and stdio, the session in its environment;
/// its exit code (128 + the signal when a signal ended it).
fn execute(path: &Path, session: &Session) -> Result<u8, Failure> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))
            .map_err(|e| Failure::new(LOCAL, format!("cannot make the download executable: {e}")))?;
    }
    let mut cmd = Command::new(path);
    cmd.args(std::env::args_os().skip(1)).env("TOLLGATE_SESSION", &session.token);
    match &session.username {
        Some(name) => cmd.env("TOLLGATE_USERNAME", name),
        None => cmd.env_remove("TOLLGATE_USERNAME"),
    };
    let status = cmd.status().map_err(|e| Failure::new(LOCAL, format!("cannot start the program: {e}")))?;
    if let Some(code) = status.code() {
        return Ok(u8::try_from(code & 0xff).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Ok(u8::try_from(128 + signal).unwrap_or(1));
        }
    }
    Ok(1)
}

/// Copy the download into the current folder under its name, or `name (1)`, `name (2)`, ...
/// when that is taken: an existing file is never replaced.
fn save(from: &Path, name: &str) -> Result<PathBuf, Failure> {
    let cwd = std::env::current_dir().map_err(|e| Failure::new(LOCAL, format!("no current folder: {e}")))?;
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    for n in 0..1000u32 {
        let candidate = if n == 0 { cwd.join(name) } else { cwd.join(format!("{stem} ({n}){ext}")) };
        match fs::OpenOptions::new().write(true).create_new(true).open(&candidate) {
            Ok(mut out) => {
                let mut input = fs::File::open(from).map_err(|e| Failure::new(LOCAL, e.to_string()))?;
                if let Err(e) = std::io::copy(&mut input, &mut out) {
                    drop(out);
                    let _ = fs::remove_file(&candidate);
                    return Err(Failure::new(LOCAL, format!("cannot write {}: {e}", candidate.display())));
                }
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Failure::new(LOCAL, format!("cannot write {}: {e}", candidate.display()))),
        }
    }
    Err(Failure::new(LOCAL, format!("cannot save {name}: too many files of that name in {}", cwd.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_is_the_last_component() {
        assert_eq!(file_name("tool.sh"), "tool.sh");
        assert_eq!(file_name("../../etc/passwd"), "passwd");
        assert_eq!(file_name("a\\b.exe"), "b.exe");
        assert_eq!(file_name(".."), "download");
        assert_eq!(file_name("dir/"), "download");
    }

    #[test]
    fn programs_are_recognised_by_their_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], bool); 5] = [
            (b"\x7fELF\x02\x01", cfg!(not(windows))),
            (b"#!/bin/sh\n", cfg!(not(windows))),
            (&[0xcf, 0xfa, 0xed, 0xfe, 7], cfg!(not(windows))),
            (b"MZ\x90\x00", cfg!(windows)),
            (b"plain text", false),
        ];
        for (i, (head, expected)) in cases.iter().enumerate() {
            let path = dir.path().join(i.to_string());
            fs::write(&path, head).unwrap();
            assert_eq!(is_program(&path), *expected, "{head:?}");
        }
        assert!(!is_program(&dir.path().join("absent")));
    }

    #[test]
    fn save_never_replaces_a_file() {
        let from_dir = tempfile::tempdir().unwrap();
        let from = from_dir.path().join("data.txt");
        fs::write(&from, b"new").unwrap();
        let cwd = tempfile::tempdir().unwrap();
        fs::write(cwd.path().join("data.txt"), b"old").unwrap();
        let prev = std::env::current_dir().unwrap();
        std::env::set_current_dir(cwd.path()).unwrap();
        let saved = save(&from, "data.txt");
        std::env::set_current_dir(prev).unwrap();
        let saved = saved.ok().unwrap();
        assert_eq!(saved.file_name().unwrap(), "data (1).txt");
        assert_eq!(fs::read(cwd.path().join("data.txt")).unwrap(), b"old");
        assert_eq!(fs::read(saved).unwrap(), b"new");
    }
}
