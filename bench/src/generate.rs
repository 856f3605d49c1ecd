//! `license-generate`: a seller and an app through the CLI, then `tollgate license generate`
//! of N keys, timed, with the child's own peak RSS.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::proc::{files_size, Tollgate};

/// What the bench leaves in the data dir so `list-licenses` can reuse it (`--keep DIR`).
pub const STATE_FILE: &str = "bench-state.json";

pub const SELLER_EMAIL: &str = "bench@example.com";
pub const SELLER_PASSWORD: &str = "bench-password-0123";
pub const SELLER_NAME: &str = "Bench Seller";
pub const APP_NAME: &str = "Bench";

/// The seller and app a data dir was prepared with.
pub struct BenchState {
    pub email: String,
    pub password: String,
    pub seller_id: String,
    pub app_id: String,
    pub licenses: u64,
}

impl BenchState {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(STATE_FILE)
    }

    pub fn load(data_dir: &Path) -> Result<Option<BenchState>> {
        let p = Self::path(data_dir);
        if !p.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
        let s = |k: &str| -> Result<String> {
            v.get(k)
                .and_then(|x| x.as_str())
                .map(str::to_owned)
                .with_context(|| format!("{}: missing string `{k}`", p.display()))
        };
        Ok(Some(BenchState {
            email: s("email")?,
            password: s("password")?,
            seller_id: s("sellerId")?,
            app_id: s("appId")?,
            licenses: v.get("licenses").and_then(|x| x.as_u64()).unwrap_or(0),
        }))
    }

    pub fn save(&self, data_dir: &Path) -> Result<()> {
        let v = json!({
            "email": self.email, "password": self.password,
            "sellerId": self.seller_id, "appId": self.app_id, "licenses": self.licenses,
        });
        let p = Self::path(data_dir);
        std::fs::write(&p, serde_json::to_string_pretty(&v)? + "\n").with_context(|| format!("writing {}", p.display()))
    }
}

/// The figures of one `license generate` run.
pub struct GenerateResult {
    pub count: u64,
    pub wall: Duration,
    pub max_rss_kib: u64,
    pub user_cpu: Duration,
    pub sys_cpu: Duration,
    /// Keys written to the output file (or stdout), counted by lines.
    pub keys_output: u64,
    /// Database files (`tollgate.db*`) after the run, bytes.
    pub db_bytes: u64,
}

/// The first whitespace-separated token starting with `prefix`, trimmed of quotes and
/// punctuation (`id: app_x`, `"id": "app_x",`, `app_x Bench` all give `app_x`).
pub fn find_id(text: &str, prefix: &str) -> Option<String> {
    // Prefer a line that labels it as the id.
    let labelled = text.lines().find_map(|l| {
        let l = l.trim().trim_start_matches('"');
        let rest = l.strip_prefix("id").or_else(|| l.strip_prefix("ID"))?;
        let rest = rest.trim_start_matches('"').trim_start();
        let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix('='))?;
        token_with_prefix(rest, prefix)
    });
    labelled.or_else(|| token_with_prefix(text, prefix))
}

fn token_with_prefix(text: &str, prefix: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '`' | '(' | ')' | '[' | ']' | '{' | '}'))
        .map(|t| t.trim_end_matches(['.', ':', ';']))
        .find(|t| t.starts_with(prefix) && t.len() > prefix.len())
        .map(str::to_owned)
}

/// Create the seller and the app the bench works with. `tollgate migrate` first: it is the
/// command that sets up a new data dir (the master key); the others refuse to start one.
pub fn prepare(tg: &Tollgate) -> Result<BenchState> {
    tg.run_ok(&["migrate"], false)?;
    let seller = tg.run_ok(
        &["seller", "create", "--email", SELLER_EMAIL, "--password", SELLER_PASSWORD, "--name", SELLER_NAME],
        false,
    )?;
    let seller_id = find_id(&seller.stdout, "seller_")
        .or_else(|| Some(seller.stdout.trim().to_owned()).filter(|s| !s.is_empty() && !s.contains(char::is_whitespace)))
        .with_context(|| format!("no seller id in the output of `tollgate seller create`:\n{}", seller.stdout))?;
    let app = tg.run_ok(&["app", "create", "--seller", &seller_id, "--name", APP_NAME], false)?;
    let app_id = find_id(&app.stdout, "app_")
        .with_context(|| format!("no app id (`app_...`) in the output of `tollgate app create`:\n{}", app.stdout))?;
    Ok(BenchState {
        email: SELLER_EMAIL.to_owned(),
        password: SELLER_PASSWORD.to_owned(),
        seller_id,
        app_id,
        licenses: 0,
    })
}

/// Run `tollgate license generate --app APP --count N` once, measured.
pub fn generate(tg: &Tollgate, state: &mut BenchState, count: u64) -> Result<GenerateResult> {
    let help = tg.help(&["license", "generate"])?.with_context(|| {
        format!("{} has no `license generate` command (`tollgate license generate --help` fails)", tg.bin.display())
    })?;
    let keys_file = tg.data_dir.join("bench-keys.txt");
    let keys_path = keys_file.to_string_lossy().into_owned();
    let count_s = count.to_string();
    let mut args = vec!["license", "generate", "--app", &state.app_id, "--count", &count_s];
    let to_file = help.contains("--output");
    if to_file {
        // The CLI refuses to overwrite a file; one may be left over from an interrupted run.
        let _ = std::fs::remove_file(&keys_file);
        args.extend(["--output", &keys_path]);
    }
    eprintln!("tollgate-bench: running `tollgate {}`", args.join(" "));
    let f = tg.run_ok(&args, true)?;
    let keys_output = if to_file {
        let n = count_lines(&keys_file)?;
        // The keys are in the database; the file was only there to be written.
        let _ = std::fs::remove_file(&keys_file);
        n
    } else {
        f.stdout_lines
    };
    if keys_output != count {
        eprintln!("tollgate-bench: warning: asked for {count} keys, the output holds {keys_output} lines");
    }
    state.licenses += count;
    state.save(&tg.data_dir)?;
    Ok(GenerateResult {
        count,
        wall: f.wall,
        max_rss_kib: f.max_rss_kib,
        user_cpu: f.user_cpu,
        sys_cpu: f.sys_cpu,
        keys_output,
        db_bytes: files_size(&tg.data_dir, "tollgate.db"),
    })
}

fn count_lines(p: &Path) -> Result<u64> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let r = f.read(&mut buf).with_context(|| format!("reading {}", p.display()))?;
        if r == 0 {
            return Ok(n);
        }
        n += buf[..r].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// Refuse to generate into a data dir that already holds a bench seller (the CLI would
/// refuse the duplicate email anyway, with a less helpful message).
pub fn ensure_fresh(data_dir: &Path) -> Result<()> {
    if BenchState::path(data_dir).exists() {
        bail!(
            "{} already holds bench data ({STATE_FILE}); use `list-licenses --keep {}` to reuse it, \
             or remove the directory to regenerate",
            data_dir.display(),
            data_dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::find_id;

    #[test]
    fn finds_ids_in_various_shapes() {
        assert_eq!(find_id("id: app_abc\napiKey: as_x\n", "app_").as_deref(), Some("app_abc"));
        assert_eq!(find_id("Created app_abc (Bench)\n", "app_").as_deref(), Some("app_abc"));
        assert_eq!(find_id("{\"id\": \"app_abc\", \"name\": \"x\"}", "app_").as_deref(), Some("app_abc"));
        assert_eq!(find_id("owner: seller_1\nid = app_2\n", "app_").as_deref(), Some("app_2"));
        assert_eq!(find_id("seller_xyz\n", "seller_").as_deref(), Some("seller_xyz"));
        assert_eq!(find_id("nothing here", "app_"), None);
    }
}
