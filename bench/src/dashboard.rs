//! `dashboard`: the real server on the generated data dir (the bench app holds the generated
//! licenses, 1,000,000 by default), a seller signed in through the dashboard's sign-in form
//! (cookies and CSRF field as a browser sends them), then sequential GETs of each dashboard page
//! of that app, timed from sending to the last byte of the HTML over loopback.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::generate::BenchState;
use crate::list::Stats;
use crate::proc::{self, Tollgate};
use crate::server::{login, Server};

/// Knobs of the dashboard benchmark.
pub struct DashboardOptions {
    pub port: Option<u16>,
    /// Measured requests per page.
    pub requests: usize,
    /// Unmeasured requests per page first.
    pub warmup: usize,
    /// How many times the licenses list's "next page" link is followed for the deep cursor page.
    pub cursor_steps: usize,
    pub startup_timeout: Duration,
}

/// What one page gave.
pub enum Outcome {
    Timed(Stats),
    /// The page answered this status (404: not built yet) and was not measured.
    Status(u16),
    /// It could not be measured at all (why).
    Skipped(String),
}

pub struct PageRow {
    pub label: String,
    pub path: String,
    pub outcome: Outcome,
    /// Size of the HTML, bytes.
    pub bytes: usize,
}

pub struct DashboardResult {
    pub licenses: u64,
    pub rows: Vec<PageRow>,
    pub sign_in: Duration,
    pub startup: Duration,
    pub server_peak_rss_kib: Option<u64>,
    pub shutdown: Option<Duration>,
}

pub fn run(tg: &Tollgate, state: &BenchState, opts: &DashboardOptions) -> Result<DashboardResult> {
    let mut server = Server::start(tg, opts.port, &[])?;
    let pid = server.pid;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let base = server.base.clone();
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .context("building the HTTP client")?;
    let measured = rt.block_on(async {
        let startup = server.wait_healthy(&client, opts.startup_timeout).await?;
        measure(&client, &base, state, opts, startup).await
    });
    let mut result = match measured {
        Ok(r) => r,
        Err(e) => {
            let tail = server.log_tail();
            bail!("{e:#}\n--- server log (last lines) ---\n{tail}");
        }
    };
    result.server_peak_rss_kib = proc::vm_hwm_kib(pid);
    result.shutdown = Some(server.stop()?);
    Ok(result)
}

/// A browser's cookies, as far as this bench needs them.
struct Browser<'a> {
    client: &'a reqwest::Client,
    base: &'a str,
    jar: BTreeMap<String, String>,
}

impl Browser<'_> {
    fn cookie_header(&self) -> String {
        self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all(reqwest::header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            if let Some((k, val)) = v.split(';').next().and_then(|kv| kv.split_once('=')) {
                if v.contains("Max-Age=0") {
                    self.jar.remove(k);
                } else {
                    self.jar.insert(k.to_owned(), val.to_owned());
                }
            }
        }
    }

    /// GET `path`: status and body.
    async fn get(&mut self, path: &str) -> Result<(u16, String)> {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        self.keep_cookies(&res);
        let status = res.status().as_u16();
        Ok((status, res.text().await.with_context(|| format!("GET {path}: reading the body"))?))
    }

    /// GET `path`, timed to the last byte of the body.
    async fn timed(&self, path: &str) -> Result<(u16, Duration)> {
        let t = Instant::now();
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = res.status().as_u16();
        res.bytes().await.with_context(|| format!("GET {path}: reading the body"))?;
        Ok((status, t.elapsed()))
    }

    /// Sign in through the form, as a browser does: the page first (the CSRF cookie), then the
    /// form with the CSRF field; a 303 to `/apps` and a session cookie.
    async fn sign_in(&mut self, state: &BenchState) -> Result<Duration> {
        let t = Instant::now();
        let (status, _) = self.get("/login").await?;
        if status != 200 {
            bail!("GET /login: {status}");
        }
        let csrf = self.jar.get("tollgate_csrf").cloned().context("GET /login set no tollgate_csrf cookie")?;
        let res = self
            .client
            .post(format!("{}/login", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(reqwest::header::ORIGIN, self.base)
            .form(&[("csrf", csrf.as_str()), ("email", &state.email), ("password", &state.password), ("next", "/apps")])
            .send()
            .await
            .context("POST /login")?;
        self.keep_cookies(&res);
        let status = res.status().as_u16();
        let to = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        if status != 303 || to != "/apps" {
            let body = res.text().await.unwrap_or_default();
            bail!("sign-in through the form: {status} to {to:?}, expected 303 to /apps:\n{body}");
        }
        Ok(t.elapsed())
    }
}

/// The `href` of the element with `id` in `html` (entities `&amp;` undone).
fn href_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let h = tag.find("href=\"")? + 6;
    let rest = &tag[h..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn measure(
    client: &reqwest::Client,
    base: &str,
    state: &BenchState,
    opts: &DashboardOptions,
    startup: Duration,
) -> Result<DashboardResult> {
    // A license to look at and to search for, through the admin API.
    let token = login(client, base, state).await?;
    let url = format!("{base}/v1/admin/apps/{}/licenses?limit=1", state.app_id);
    let body: Value = client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .context("GET licenses")?
        .json()
        .await
        .context("licenses JSON")?;
    let first = body.pointer("/data/0").cloned().with_context(|| format!("no license in the app: {body}"))?;
    let key = first["key"].as_str().context("license key")?.to_owned();
    let lic_id = first["id"].as_str().context("license id")?.to_owned();

    let mut b = Browser { client, base, jar: BTreeMap::new() };
    let sign_in = b.sign_in(state).await?;

    let a = format!("/apps/{}", state.app_id);
    let mut pages: Vec<(String, String)> = vec![
        ("overview".into(), a.clone()),
        ("settings".into(), format!("{a}/settings")),
        ("licenses, first page".into(), format!("{a}/licenses")),
        ("licenses, status UNUSED".into(), format!("{a}/licenses?status=UNUSED")),
        ("licenses, status BANNED (none)".into(), format!("{a}/licenses?status=BANNED")),
    ];
    // The deep cursor page: follow the list's own "next page" link.
    let mut deep = None;
    let mut path = format!("{a}/licenses");
    let mut why = String::new();
    for step in 0..opts.cursor_steps {
        let (status, html) = b.get(&path).await?;
        if status != 200 {
            why = format!("the licenses list answered {status}");
            break;
        }
        match href_of(&html, "next-page") {
            Some(next) => path = next,
            None => {
                why = format!("no #next-page link after {step} pages");
                break;
            }
        }
        if step + 1 == opts.cursor_steps {
            deep = Some(path.clone());
        }
    }
    let deep_label = format!("licenses, cursor page {}", opts.cursor_steps + 1);
    pages.extend([
        ("licenses, search a full key".into(), format!("{a}/licenses?search={}", urlencode(&key))),
        // The beginning of a key: a few matches (six characters), then tens of thousands (one
        // character: the total stops counting at 10,000), then none.
        ("licenses, search a key's first 6 characters".into(), format!("{a}/licenses?search={}", urlencode(&key[..6]))),
        ("licenses, search a key's first character".into(), format!("{a}/licenses?search={}", urlencode(&key[..1]))),
        ("licenses, search matching nothing".into(), format!("{a}/licenses?search=no-such-note")),
        ("license page".into(), format!("{a}/licenses/{lic_id}")),
        ("users".into(), format!("{a}/users")),
        ("sessions".into(), format!("{a}/sessions")),
        ("sessions, live partial".into(), format!("{a}/sessions/live")),
        ("variables".into(), format!("{a}/variables")),
        ("files".into(), format!("{a}/files")),
        ("resellers".into(), format!("{a}/resellers")),
        ("blacklist".into(), format!("{a}/blacklist")),
        ("webhooks".into(), format!("{a}/webhooks")),
        ("logs".into(), format!("{a}/logs")),
        ("audit".into(), "/audit".into()),
        ("signing key".into(), "/signing-key".into()),
        ("apps".into(), "/apps".into()),
    ]);

    let mut rows = Vec::new();
    if let Some(d) = &deep {
        rows.push(page(&mut b, &deep_label, d, opts).await?);
    } else {
        rows.push(PageRow {
            label: deep_label,
            path: format!("{a}/licenses?cursor=..."),
            outcome: Outcome::Skipped(why),
            bytes: 0,
        });
    }
    for (label, path) in &pages {
        rows.push(page(&mut b, label, path, opts).await?);
    }
    // The deep page first in the walk, but in page order in the report.
    let deep_row = rows.remove(0);
    let at = rows.iter().position(|r| r.label.starts_with("licenses, search")).unwrap_or(rows.len());
    rows.insert(at, deep_row);
    Ok(DashboardResult { licenses: state.licenses, rows, sign_in, startup, server_peak_rss_kib: None, shutdown: None })
}

async fn page(b: &mut Browser<'_>, label: &str, path: &str, opts: &DashboardOptions) -> Result<PageRow> {
    let (status, html) = b.get(path).await?;
    if status != 200 {
        eprintln!("tollgate-bench: {label} ({path}): {status}, not measured");
        return Ok(PageRow {
            label: label.into(),
            path: path.into(),
            outcome: Outcome::Status(status),
            bytes: html.len(),
        });
    }
    if html.contains("action=\"/login\"") && !html.contains("id=\"sign-out\"") {
        bail!("{path}: the sign-in page came back: the session was lost");
    }
    eprintln!("tollgate-bench: {label} ({path}): {} + {} requests", opts.warmup, opts.requests);
    for _ in 0..opts.warmup {
        b.timed(path).await?;
    }
    let mut times = Vec::with_capacity(opts.requests);
    for _ in 0..opts.requests {
        let (s, d) = b.timed(path).await?;
        if s != 200 {
            bail!("GET {path}: {s} during the series");
        }
        times.push(d);
    }
    Ok(PageRow { label: label.into(), path: path.into(), outcome: Outcome::Timed(Stats::of(times)), bytes: html.len() })
}

pub fn render(s: &mut String, r: &DashboardResult) {
    use std::fmt::Write as _;
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e3);
    let _ = writeln!(
        s,
        "\n### Dashboard pages\n\n{} licenses in the app; signed in through the form in {} ms; sequential GETs, \
         timed from sending to the last byte over loopback (server start-up to a healthy `/healthz`: {} ms).\n",
        crate::group(r.licenses),
        ms(r.sign_in),
        ms(r.startup)
    );
    let _ = writeln!(s, "| page | path | n | p50 ms | p99 ms | max ms | HTML KiB |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|");
    for row in &r.rows {
        let path = row.path.replace('|', "\\|");
        let kib = format!("{:.1}", row.bytes as f64 / 1024.0);
        match &row.outcome {
            Outcome::Timed(t) => {
                let _ = writeln!(
                    s,
                    "| {} | `{path}` | {} | {} | {} | {} | {kib} |",
                    row.label,
                    t.n,
                    ms(t.p50),
                    ms(t.p99),
                    ms(t.max)
                );
            }
            Outcome::Status(code) => {
                let what = if *code == 404 { "404 (no such page yet)".to_owned() } else { format!("answered {code}") };
                let _ = writeln!(s, "| {} | `{path}` | {what} | | | | |", row.label);
            }
            Outcome::Skipped(why) => {
                let _ = writeln!(s, "| {} | `{path}` | not measured: {why} | | | | |", row.label);
            }
        }
    }
    let rss = r.server_peak_rss_kib.map_or_else(|| "unknown".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
    let down = r.shutdown.map_or_else(|| "?".to_owned(), ms);
    let _ = writeln!(s, "\nServer peak RSS over the run: {rss}; exit after SIGTERM: {down} ms.");
}

#[cfg(test)]
mod tests {
    use super::{href_of, urlencode};

    #[test]
    fn finds_the_next_page_link() {
        let html = r#"<p><a class="x" id="next-page" href="/apps/a/licenses?cursor=abc&amp;status=USED">Next</a></p>"#;
        assert_eq!(href_of(html, "next-page").as_deref(), Some("/apps/a/licenses?cursor=abc&status=USED"));
        let html = r#"<a href="/n?cursor=z" rel="next" id="next-page">Next</a>"#;
        assert_eq!(href_of(html, "next-page").as_deref(), Some("/n?cursor=z"));
        assert_eq!(href_of("<a href=\"/x\">", "next-page"), None);
        assert_eq!(urlencode("AB-12 +/"), "AB-12%20%2B%2F");
    }
}
