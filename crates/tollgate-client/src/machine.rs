//! The machine id behind the default HWID: the operating system's own stable id for this
//! installation, hashed so the raw id never leaves the machine.

use sha2::{Digest, Sha256};

use crate::Error;

/// Put before the raw id when hashing, so the HWID a Tollgate client sends cannot be matched
/// against the same machine's id hashed by another program.
const PREFIX: &str = "tollgate-hwid/v1\n";

/// This machine's id, for the HWID: the lowercase hex SHA-256 of a Tollgate-specific prefix and
/// the operating system's machine id, so the raw id never leaves the machine.
///
/// - Linux (and other Unix systems using systemd or D-Bus): `/etc/machine-id`, else
///   `/var/lib/dbus/machine-id`.
/// - macOS: the `IOPlatformUUID` that `ioreg -rd1 -c IOPlatformExpertDevice` prints.
/// - Windows: `HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid`, read with `reg query`.
///
/// The id stays the same across reboots and program updates; it changes when the operating
/// system is reinstalled (or, on Linux, when the machine id is regenerated, as cloned virtual
/// machines should). [`Error::Config`] when no id can be read.
pub fn machine_id() -> Result<String, Error> {
    let raw = raw_id()?;
    Ok(hash(&raw))
}

fn hash(raw: &str) -> String {
    let mut h = Sha256::new();
    h.update(PREFIX.as_bytes());
    h.update(raw.as_bytes());
    hex::encode(h.finalize())
}

/// An id as read: trimmed, and refused when blank (a machine id file emptied by an image build).
fn usable(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(all(unix, not(target_os = "macos")))]
fn raw_id() -> Result<String, Error> {
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok().and_then(|s| usable(&s)))
        .ok_or_else(|| Error::Config("no machine id in /etc/machine-id or /var/lib/dbus/machine-id".into()))
}

#[cfg(target_os = "macos")]
fn raw_id() -> Result<String, Error> {
    let out = std::process::Command::new("ioreg")
        .args(["-rd1", "-c", "IOPlatformExpertDevice"])
        .output()
        .map_err(|e| Error::Config(format!("cannot run ioreg: {e}")))?;
    // The line reads `"IOPlatformUUID" = "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"`.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains("\"IOPlatformUUID\""))
        .and_then(|l| l.split('=').nth(1))
        .and_then(|v| usable(v.trim().trim_matches('"')))
        .ok_or_else(|| Error::Config("ioreg printed no IOPlatformUUID".into()))
}

#[cfg(windows)]
fn raw_id() -> Result<String, Error> {
    let out = std::process::Command::new("reg")
        .args(["query", r"HKLM\SOFTWARE\Microsoft\Cryptography", "/v", "MachineGuid"])
        .output()
        .map_err(|e| Error::Config(format!("cannot run reg query: {e}")))?;
    // The line reads `    MachineGuid    REG_SZ    xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.trim_start().starts_with("MachineGuid"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(usable)
        .ok_or_else(|| Error::Config("the registry has no MachineGuid".into()))
}

#[cfg(not(any(unix, windows)))]
fn raw_id() -> Result<String, Error> {
    Err(Error::Config("no machine id source on this operating system; set the HWID with Client::with_hwid".into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_hashed_with_the_prefix() {
        let h = hash("0123456789abcdef0123456789abcdef");
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(h, hex::encode(Sha256::digest(b"0123456789abcdef0123456789abcdef")), "prefixed");
        assert_eq!(h, hash("0123456789abcdef0123456789abcdef"), "stable");
        assert_ne!(h, hash("0123456789abcdef0123456789abcdee"));
    }

    #[test]
    fn blank_ids_are_not_used() {
        assert_eq!(usable(" \n"), None);
        assert_eq!(usable("abc\n").as_deref(), Some("abc"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_reads_the_machine_id_when_there_is_one() {
        let present = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
            .iter()
            .any(|p| std::fs::read_to_string(p).map(|s| !s.trim().is_empty()).unwrap_or(false));
        match machine_id() {
            Ok(id) => {
                assert!(present);
                assert_eq!(id.len(), 64);
                assert_eq!(machine_id().unwrap(), id);
            }
            Err(Error::Config(_)) => assert!(!present),
            Err(e) => panic!("{e}"),
        }
    }
}
