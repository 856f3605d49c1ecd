//! Where loader templates come from.
//!
//! 1. The `tollgate-loader` (or `tollgate-loader.exe`) beside the running `tollgate` binary,
//!    which the release build puts there: this host's template, named
//!    `loader_rust_<os>_<arch>` (`loader_rust_linux_x86_64`).
//! 2. `<data_dir>/templates/`: every file whose name starts `loader_rust_` is a template under
//!    its file name (`loader_rust_windows_x86_64.exe`, built elsewhere and copied there). One
//!    there wins over the host's of the same name.
//!
//! A file is listed only when it holds the configuration region's marker exactly once. The
//! folders are read on every request (a few entries); what a file holds is remembered by
//! path, size and modification time, so a template is scanned once, and a file that is not a
//! template is warned about once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// A usable template.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub path: PathBuf,
    /// A Windows executable: the built loader's name ends `.exe`.
    pub exe: bool,
}

/// What the builder answers with when a loader is asked for the host.
pub fn host_name() -> String {
    format!("loader_rust_{}_{}", std::env::consts::OS, std::env::consts::ARCH)
}

const PREFIX: &str = "loader_rust_";

/// The templates this server has now, sorted by name.
pub fn discover(data_dir: &Path) -> Vec<Template> {
    let mut found: Vec<Template> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(data_dir.join("templates")) {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(PREFIX) || name.len() == PREFIX.len() {
                continue;
            }
            let path = entry.path();
            if is_template(&path) {
                found.push(Template { exe: name.ends_with(".exe"), name, path });
            }
        }
    }
    if let Some(beside) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)) {
        for (file, exe) in [("tollgate-loader", false), ("tollgate-loader.exe", true)] {
            let path = beside.join(file);
            let name = if exe { format!("{}.exe", host_name()) } else { host_name() };
            if path.is_file() && !found.iter().any(|t| t.name == name) && is_template(&path) {
                found.push(Template { name, path, exe });
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

type Seen = HashMap<PathBuf, (u64, Option<SystemTime>, bool)>;

/// Whether `path` is a regular file holding the marker exactly once (remembered while its size
/// and modification time stay the same).
fn is_template(path: &Path) -> bool {
    static SEEN: Mutex<Option<Seen>> = Mutex::new(None);
    let Ok(meta) = std::fs::metadata(path) else { return false };
    if !meta.is_file() {
        return false;
    }
    let key = (meta.len(), meta.modified().ok());
    if let Some(&(len, modified, ok)) = SEEN.lock().ok().and_then(|s| s.as_ref()?.get(path).copied()).as_ref() {
        if (len, modified) == key {
            return ok;
        }
    }
    let ok = match std::fs::read(path) {
        Ok(bytes) => match tollgate_core::loader_config::find_marker(&bytes) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring a file that is not a loader template");
                false
            }
        },
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read a loader template");
            false
        }
    };
    if let Ok(mut seen) = SEEN.lock() {
        seen.get_or_insert_with(HashMap::new).insert(path.to_path_buf(), (key.0, key.1, ok));
    }
    ok
}
