//! `--database-url postgres://...`: a fresh PostgreSQL database per run, made and dropped with
//! `psql` (so the bench needs no PostgreSQL driver of its own).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Where a kept data dir remembers the database it was generated into.
pub const DB_FILE: &str = "bench-database-url";

/// `postgres://` or `postgresql://`.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The database name in the URL's path (`None` if there is none).
pub fn database_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let (_, path) = rest.split_once('/')?;
    let name = path.split(['?', '#']).next().unwrap_or("");
    (!name.is_empty()).then_some(name)
}

/// The URL with its database name replaced by `name` (query string kept).
pub fn with_database(url: &str, name: &str) -> Result<String> {
    let (scheme, rest) = url.split_once("://").with_context(|| format!("not a URL: {}", redact(url)))?;
    let (authority, query) = match rest.split_once('/') {
        Some((a, path)) => (a, path.find(['?', '#']).map_or("", |i| &path[i..])),
        None => match rest.find(['?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        },
    };
    Ok(format!("{scheme}://{authority}/{name}{query}"))
}

/// The URL with any password replaced by `***`, for printing.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A database this run created; dropped on drop unless kept.
pub struct BenchDb {
    /// Connection URL of the maintenance database (`CREATE`/`DROP DATABASE` run there).
    admin_url: String,
    pub name: String,
    /// What `tollgate --database-url` gets.
    pub url: String,
    keep: bool,
}

impl BenchDb {
    /// Reuse the database a kept data dir names, or create a fresh `tg_bench_<random>` on the
    /// server of `server_url` (recorded in the data dir when `keep`).
    pub fn open(server_url: &str, data_dir: &Path, keep: bool) -> Result<BenchDb> {
        let admin_url = match database_of(server_url) {
            Some(_) => server_url.to_owned(),
            None => with_database(server_url, "postgres")?,
        };
        let recorded = DbFile(data_dir.join(DB_FILE));
        if let Some(name) = recorded.read()? {
            eprintln!("tollgate-bench: reusing PostgreSQL database `{name}` recorded in {}", recorded.0.display());
            let url = with_database(server_url, &name)?;
            return Ok(BenchDb { admin_url, name, url, keep: true });
        }
        let name = fresh_name();
        psql(&admin_url, &format!("CREATE DATABASE {name}"))
            .with_context(|| format!("creating the bench database on {}", redact(&admin_url)))?;
        eprintln!("tollgate-bench: created PostgreSQL database `{name}`");
        let url = with_database(server_url, &name)?;
        let db = BenchDb { admin_url, name, url, keep };
        if keep {
            recorded.write(&db.name)?;
        }
        Ok(db)
    }

    /// `pg_database_size` of the database, bytes.
    pub fn size(&self) -> Option<u64> {
        psql(&self.admin_url, &format!("SELECT pg_database_size('{}')", self.name)).ok()?.trim().parse().ok()
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        match psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            Ok(_) => eprintln!("tollgate-bench: dropped PostgreSQL database `{}`", self.name),
            Err(e) => eprintln!("tollgate-bench: warning: could not drop database `{}`: {e:#}", self.name),
        }
    }
}

struct DbFile(PathBuf);

impl DbFile {
    fn read(&self) -> Result<Option<String>> {
        if !self.0.exists() {
            return Ok(None);
        }
        let s = std::fs::read_to_string(&self.0).with_context(|| format!("reading {}", self.0.display()))?;
        let name = s.trim().to_owned();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("{}: not a database name: {name:?}", self.0.display());
        }
        Ok(Some(name))
    }

    fn write(&self, name: &str) -> Result<()> {
        std::fs::write(&self.0, format!("{name}\n")).with_context(|| format!("writing {}", self.0.display()))
    }
}

/// `tg_bench_` and 12 hex digits from the clock and the pid (unquoted identifier-safe).
fn fresh_name() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 40);
    format!("tg_bench_{:012x}", mixed & 0xffff_ffff_ffff)
}

/// `ANALYZE` the whole database, as autovacuum would after a bulk insert (where it runs).
pub fn analyze(url: &str) -> Result<()> {
    psql(url, "ANALYZE").map(|_| ()).with_context(|| format!("ANALYZE on {}", redact(url)))
}

/// Run one SQL command with `psql` and return its unaligned output.
fn psql(url: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .stdin(Stdio::null())
        .output()
        .context("cannot run `psql` (is the PostgreSQL client installed?)")?;
    if !out.status.success() {
        bail!("`psql -c \"{sql}\"` failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::{database_of, redact, with_database};

    #[test]
    fn swaps_the_database() {
        let u = "postgres://postgres@127.0.0.1:5432/postgres";
        assert_eq!(database_of(u), Some("postgres"));
        assert_eq!(with_database(u, "x").unwrap(), "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(with_database("postgres://h:1", "x").unwrap(), "postgres://h:1/x");
        assert_eq!(database_of("postgres://h:1/"), None);
        assert_eq!(with_database("postgres://h/db?sslmode=disable", "x").unwrap(), "postgres://h/x?sslmode=disable");
        assert_eq!(with_database("postgres://h?sslmode=disable", "x").unwrap(), "postgres://h/x?sslmode=disable");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
