//! The operator commands of the `tollgate` binary. Each one parses its flags with clap, runs
//! the same functions the admin API runs (so the same rules apply), prints what it made, and
//! answers an error with a message on stderr and a non-zero exit.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tollgate_core::license::LicenseSpec;
use tollgate_core::model::Creator;
use tollgate_core::{DomainError, DurationType};

use crate::config::{Config, DatabaseKind};
use crate::error::ApiError;
use crate::files::FileVault;
use crate::manage::ManageError;
use crate::signing::Signer;
use crate::state::AppState;

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given)
    Serve,
    /// Apply database migrations and exit
    Migrate,
    /// Seller accounts
    #[command(subcommand)]
    Seller(SellerCommand),
    /// Applications
    #[command(subcommand)]
    App(AppCommand),
    /// License keys
    #[command(subcommand)]
    License(LicenseCommand),
    /// Write a consistent copy of the SQLite database and the uploaded files, safe while the
    /// server runs
    ///
    /// The database copy is one snapshot of the live database (SQLite `VACUUM INTO`) written to
    /// --to; uploaded files (still encrypted) go to `<--to>.files/` beside it. The backup does NOT
    /// hold the master key (`<data-dir>/master.key`): keep it apart, somewhere else, since
    /// nothing in the backup can be read without it. `tollgate restore --from` puts a backup
    /// back. For PostgreSQL use `pg_dump`.
    Backup(BackupArgs),
    /// Put a backup made by `tollgate backup` back as the database (and uploaded files)
    ///
    /// Refused while a `tollgate serve` runs on this data directory. The master key must already
    /// be in place (the one the backup was made under): the restore checks that it opens the
    /// backup's signing keys before replacing anything. The database it replaces is kept beside
    /// it as `tollgate.db.replaced-<time>`.
    Restore(RestoreArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout
    Man,
    /// The key that signs client API responses (shared by every node on the database)
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
pub enum SellerCommand {
    /// Create a seller account and print its id
    ///
    /// Works whatever `seller_signup` says, so a closed server can still get accounts.
    Create(SellerCreateArgs),
}

#[derive(Args)]
pub struct SellerCreateArgs {
    /// Login email
    #[arg(long)]
    pub email: String,
    /// Password, 8 to 1024 characters (other local users can see it in the process list:
    /// prefer --password-stdin)
    #[arg(long, required_unless_present = "password_stdin", conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from the first line of standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Display name
    #[arg(long)]
    pub name: String,
}

#[derive(Subcommand)]
pub enum AppCommand {
    /// Create an application for a seller and print its id, API key, WebSocket key and owner
    Create(AppCreateArgs),
}

#[derive(Args)]
pub struct AppCreateArgs {
    /// Id of the owning seller (from `tollgate seller create`)
    #[arg(long)]
    pub seller: String,
    /// Application name, unique per seller
    #[arg(long)]
    pub name: String,
    /// Current version [default: 1.0.0]
    #[arg(long)]
    pub version: Option<String>,
}

#[derive(Subcommand)]
pub enum LicenseCommand {
    /// Generate license keys in bulk and print them, one a line
    ///
    /// Keys are stored in batches, one transaction each, and a batch's keys are printed only
    /// after it is committed: what is printed is what is stored, even if the command is
    /// interrupted. Progress goes to stderr when it is a terminal; a summary line always does.
    Generate(LicenseGenerateArgs),
}

#[derive(Args)]
pub struct LicenseGenerateArgs {
    /// Application id
    #[arg(long)]
    pub app: String,
    /// How many keys to make (1 to 1,000,000,000)
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub count: u64,
    /// <n>h, <n>d or lifetime (e.g. 1h, 12h, 1d, 14d, 30d, 365d); the clock starts at first use
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    pub duration: DurationType,
    /// Level granted by the key (0 to 1000000)
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub level: i64,
    /// Devices the key may be bound to (1 to 1000)
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub max_devices: i64,
    /// Keys look like PREFIX-XXXX-XXXX-XXXX (1-16 letters, digits or _; upper-cased)
    #[arg(long)]
    pub prefix: Option<String>,
    /// Whole key shape, e.g. XXXXX-XXXXX-XXXXX-XXXXX (each X random; at least 12)
    #[arg(long)]
    pub mask: Option<String>,
    /// Note stored with every key (at most 500 characters)
    #[arg(long)]
    pub note: Option<String>,
    /// Write the keys to this new file (mode 0600; an existing file is not overwritten) instead
    /// of stdout
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Keys per transaction
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch_size: u64,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Print the active signing key's id and public key (PEM), making the key if there is none
    ///
    /// Client SDKs pin this PEM to verify responses (Authly: `serverPublicKeyPem`).
    Show,
    /// Make a new signing key and sign with it from now on; the old keys stay listed
    ///
    /// Running servers switch to the new key when they restart. Clients pinned to the old
    /// public key reject responses signed with the new one until they are given its PEM.
    Rotate,
    /// List every signing key, newest first: kid, creation time, and whether it is active
    List,
}

#[derive(Args)]
pub struct BackupArgs {
    /// Where to write the copy; must not exist yet
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The database copy written by `tollgate backup --to`
    #[arg(long)]
    pub from: PathBuf,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell
    pub shell: clap_complete::Shell,
}

fn parse_duration(s: &str) -> Result<DurationType, String> {
    tollgate_core::license::parse_duration("duration", s)
        .map_err(|_| "use <n>h (1 to 876000 hours), <n>d (1 to 36500 days) or lifetime, e.g. 12h, 14d, 30d".to_owned())
}

/// A use case's error as a command-line message: an invalid field names the flag that sets it;
/// anything else reads as the admin API would say it.
fn cli_error(e: ManageError) -> anyhow::Error {
    if let ManageError::Domain(DomainError::Validation { field, message }) = &e {
        let flag = match field.as_str() {
            "maxDevices" => "max-devices",
            "durationType" => "duration",
            other => other,
        };
        return anyhow!("invalid --{flag}: {message}");
    }
    anyhow!("{}", ApiError::from(e).message)
}

pub async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            // the data directory, its master key and the signing key too: a ready install
            crate::app::build_state(config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Seller(SellerCommand::Create(args)) => seller_create(config, args).await,
        Command::App(AppCommand::Create(args)) => app_create(config, args).await,
        Command::License(LicenseCommand::Generate(args)) => license_generate(config, args).await,
        Command::Backup(args) => backup(config, args).await,
        Command::Restore(args) => restore(config, args).await,
        // printed by main, which owns the whole command line
        Command::Completions(_) | Command::Man => Ok(()),
        Command::Keys(command) => keys(config, command).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow!("invalid setting `listen`: cannot bind {}: {e}", config.listen))?;
    let state = crate::app::build_state(config).await?;
    // Held for the life of the process: `tollgate restore` refuses to run while it is.
    let _lock = DataDirLock::acquire(&state.config.data_dir, false)?;
    // Uploads cut short by a crash leave temporary files; an hour-old one is nobody's.
    match FileVault::from_state(&state).sweep_temp(Duration::from_secs(3600)) {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "removed unfinished uploads"),
        Err(e) => tracing::warn!(error = %e, "could not sweep unfinished uploads"),
    }
    tracing::info!(addr = %listener.local_addr()?, database = state.store.backend(), "tollgate listening");
    crate::app::serve_on(listener, state, crate::app::shutdown_signal()).await
}

async fn seller_create(config: Config, args: SellerCreateArgs) -> anyhow::Result<()> {
    let password = match args.password {
        Some(p) => p,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).context("cannot read the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let state = crate::app::open_existing(config).await?;
    let seller = crate::manage::sellers::create(&state, &args.email, &password, &args.name).await.map_err(cli_error)?;
    println!("{}", seller.id);
    Ok(())
}

async fn app_create(config: Config, args: AppCreateArgs) -> anyhow::Result<()> {
    let state = crate::app::open_existing(config).await?;
    if state.store.seller_by_id(&args.seller).await?.is_none() {
        bail!("no seller with id `{}`", args.seller);
    }
    let app = crate::manage::apps::create(
        &state,
        &crate::manage::Actor::Operator,
        &args.seller,
        &args.name,
        args.version.as_deref(),
    )
    .await
    .map_err(cli_error)?;
    println!("id: {}\napiKey: {}\nwsKey: {}\nownerId: {}", app.id, app.api_key, app.ws_key, app.owner_id);
    Ok(())
}

/// Where keys go: stdout, or a new private file.
fn key_sink(output: Option<&Path>) -> anyhow::Result<Box<dyn Write + Send>> {
    match output {
        None => Ok(Box::new(std::io::BufWriter::new(std::io::stdout()))),
        Some(path) => {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let file = opts.open(path).with_context(|| format!("cannot create --output {}", path.display()))?;
            Ok(Box::new(std::io::BufWriter::new(file)))
        }
    }
}

/// SQLite page cache of `license generate`: the license indexes keyed by random strings (id,
/// key) take inserts on random pages, which SQLite's default 2 MiB cache spills to the WAL
/// again and again; with more of them in memory, fewer are written twice. 64 MiB bought +11 %
/// keys/s over a million keys, 256 MiB only +20 % for 50 MiB more of resident memory.
const GENERATE_CACHE_MIB: u32 = 64;

async fn license_generate(config: Config, args: LicenseGenerateArgs) -> anyhow::Result<()> {
    let spec = LicenseSpec {
        duration: args.duration,
        level: args.level,
        max_devices: args.max_devices,
        prefix: args.prefix,
        mask: args.mask,
        note: args.note,
    };
    spec.validate().map_err(|e| cli_error(e.into()))?;
    let config = Config { sqlite_cache_mib: Some(GENERATE_CACHE_MIB), ..config };
    let state = crate::app::open_existing(config).await?;
    let app =
        state.store.app_by_id(&args.app).await?.ok_or_else(|| anyhow!("no application with id `{}`", args.app))?;
    let mut out = key_sink(args.output.as_deref())?;

    let total = args.count;
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(total) } else { ProgressBar::hidden() };
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} keys  {rate}  eta {eta}") {
        bar.set_style(style.with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} keys/s", s.per_sec());
        }));
    }
    let started = Instant::now();
    let mut done: u64 = 0;
    while done < total {
        let n = (total - done).min(args.batch_size);
        let result = generate_batch(&state, &app.id, &spec, &app.owner_id, n, &mut out).await;
        if let Err(e) = result {
            bar.abandon();
            return Err(e.context(format!("stopped after {done} of {total} licenses (every key printed is stored)")));
        }
        done += n;
        bar.set_position(done);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!("generated {done} licenses for {} in {secs:.2}s ({:.0} keys/s)", app.id, done as f64 / secs.max(1e-9));
    Ok(())
}

/// One transaction's worth: store, then print and flush.
async fn generate_batch(
    state: &AppState,
    app_id: &str,
    spec: &LicenseSpec,
    owner: &str,
    n: u64,
    out: &mut Box<dyn Write + Send>,
) -> anyhow::Result<()> {
    let n = usize::try_from(n).context("batch too large")?;
    let licenses = crate::manage::licenses::generate(
        state,
        &crate::manage::Actor::Operator,
        app_id,
        spec,
        Creator::Seller(owner.to_owned()),
        n,
    )
    .await
    .map_err(cli_error)?;
    let mut text = String::with_capacity(licenses.len() * 40);
    for l in &licenses {
        text.push_str(&l.key);
        text.push('\n');
    }
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).context("cannot write the keys")?;
    Ok(())
}

async fn keys(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    let state = crate::app::open_existing(config).await?;
    let store = state.store.as_ref();
    match command {
        KeysCommand::Show => {
            let signer = Signer::load_or_create(store, &state.master).await?;
            print!("kid: {}\n{}", signer.kid(), signer.public_key_pem());
        }
        KeysCommand::Rotate => {
            let signer = Signer::rotate(store, &state.master).await?;
            // Servers on a shared PostgreSQL switch at once; others within a minute.
            if let Err(e) = store.publish(&tollgate_store::Invalidation::SigningKeys).await {
                tracing::warn!(error = %e, "could not announce the rotation; servers switch within a minute");
            }
            print!("kid: {}\n{}", signer.kid(), signer.public_key_pem());
            eprintln!(
                "signing key {} is now active; running servers switch to it within a minute: give clients the new public key",
                signer.kid()
            );
        }
        KeysCommand::List => {
            for key in store.list_signing_keys().await? {
                let status = if key.active { "active" } else { "inactive" };
                println!("{}\t{}\t{status}", key.kid, tollgate_core::time::rfc3339(&key.created_at));
            }
        }
    }
    Ok(())
}

/// `sqlite://PATH`, `sqlite:PATH` (query string dropped) → PATH.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

async fn backup(config: Config, args: BackupArgs) -> anyhow::Result<()> {
    if config.database == DatabaseKind::Postgres {
        bail!("`tollgate backup` copies SQLite databases; for PostgreSQL use pg_dump (e.g. `pg_dump --format=custom --file=tollgate.dump \"$TOLLGATE_DATABASE_URL\"`)");
    }
    let db = sqlite_path(&config.database_url)
        .ok_or_else(|| anyhow!("invalid setting `database_url`: not a SQLite file"))?;
    if !db.is_file() {
        bail!("no database at {} (check --data-dir / --database-url)", db.display());
    }
    if args.to.exists() {
        bail!("--to {} already exists; choose a new file", args.to.display());
    }
    if let Some(dir) = args.to.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!("--to {}: no such directory {}", args.to.display(), dir.display());
        }
    }
    let store = tollgate_sqlite::SqliteStore::open(&config.database_url, 1).await?;
    let result = store.backup_to(&args.to).await;
    store.close().await;
    result.with_context(|| format!("backup to {} failed", args.to.display()))?;
    // The copy holds every secret the database does.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&args.to, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", args.to.display()))?;
    }
    let files = config.data_dir.join("files");
    let files_to = files_beside(&args.to);
    let copied = if files.is_dir() { copy_tree(&files, &files_to)? } else { 0 };
    if copied > 0 {
        eprintln!("uploaded files ({copied}) copied to {}", files_to.display());
    }
    eprintln!(
        "backup written to {}; it does not hold the master key: keep {} apart, somewhere else",
        args.to.display(),
        config.data_dir.join(crate::crypto::MASTER_KEY_FILE).display(),
    );
    Ok(())
}

/// The stored signing key, if any, opens with this master key.
async fn check_signing_keys(
    store: &dyn tollgate_store::Store,
    master: &crate::crypto::MasterKey,
) -> anyhow::Result<()> {
    if let Some(stored) = store.active_signing_key().await? {
        Signer::open(&stored, master)?;
    }
    Ok(())
}

/// Where `backup --to PATH` puts uploaded files: `PATH.files/`.
fn files_beside(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".files");
    PathBuf::from(name)
}

/// Copy a folder tree (private modes); the number of files copied.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<u64> {
    crate::app::create_data_dir(to)?;
    let mut n = 0;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            n += copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {} to {}", entry.path().display(), target.display()))?;
            n += 1;
        }
    }
    crate::app::make_private(to);
    Ok(n)
}

/// An advisory lock on `<data_dir>/tollgate.lock`: shared for each running server, exclusive for
/// a restore, so a restore never swaps the database under a running server.
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path, exclusive: bool) -> anyhow::Result<Option<DataDirLock>> {
        if !data_dir.is_dir() {
            return Ok(None);
        }
        let path = data_dir.join("tollgate.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            let op = if exclusive { libc::LOCK_EX | libc::LOCK_NB } else { libc::LOCK_SH | libc::LOCK_NB };
            // SAFETY: flock on a file descriptor this function owns.
            let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
            if rc != 0 {
                if exclusive {
                    bail!(
                        "a tollgate server is running on the data directory {}: stop it before restoring",
                        data_dir.display()
                    );
                }
                bail!("the data directory {} is being restored; try again when it is done", data_dir.display());
            }
        }
        Ok(Some(DataDirLock { _file: file }))
    }
}

async fn restore(config: Config, args: RestoreArgs) -> anyhow::Result<()> {
    if config.database == DatabaseKind::Postgres {
        bail!("`tollgate restore` restores SQLite backups; for PostgreSQL use pg_restore");
    }
    let db = sqlite_path(&config.database_url)
        .ok_or_else(|| anyhow!("invalid setting `database_url`: not a SQLite file"))?;
    if !args.from.is_file() {
        bail!("--from {}: no such file", args.from.display());
    }
    let dir = &config.data_dir;
    let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
    if !dir.is_dir() {
        bail!(
            "no data directory at {}: create it (mode 0700) and put the master key the backup was made under in it first",
            shown.display()
        );
    }
    let _lock = DataDirLock::acquire(dir, true)?;
    let master = crate::crypto::MasterKey::load_existing(&config.key_source()).map_err(|e| {
        anyhow!("{e:#}; restore needs the master key the backup was made under (it is never in the backup)")
    })?;
    // Check the copy with this master key before anything is replaced.
    let staged = {
        let mut name = db.as_os_str().to_owned();
        name.push(".restoring");
        PathBuf::from(name)
    };
    let _ = std::fs::remove_file(&staged);
    std::fs::copy(&args.from, &staged)
        .with_context(|| format!("cannot copy {} to {}", args.from.display(), staged.display()))?;
    crate::app::make_private(&staged);
    let staged_url = format!("sqlite://{}", staged.display());
    let checked = async {
        let store = tollgate_sqlite::SqliteStore::open(&staged_url, 1).await.map_err(anyhow::Error::from)?;
        let result = check_signing_keys(&store, &master).await;
        store.close().await;
        result
    }
    .await;
    for suffix in ["-wal", "-shm"] {
        let mut side = staged.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&staged);
        return Err(e.context(format!("{} is not a usable backup under this master key", args.from.display())));
    }
    if db.exists() {
        let mut kept = db.as_os_str().to_owned();
        kept.push(format!(".replaced-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
        let kept = PathBuf::from(kept);
        std::fs::rename(&db, &kept).with_context(|| format!("cannot move {} aside", db.display()))?;
        eprintln!("the database it replaces is kept as {}", kept.display());
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    std::fs::rename(&staged, &db).with_context(|| format!("cannot put the backup at {}", db.display()))?;
    let files_from = files_beside(&args.from);
    if files_from.is_dir() {
        let files = dir.join("files");
        if files.exists() {
            let mut kept = files.as_os_str().to_owned();
            kept.push(format!(".replaced-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
            std::fs::rename(&files, PathBuf::from(&kept))?;
        }
        let n = copy_tree(&files_from, &files)?;
        eprintln!("{n} uploaded files restored from {}", files_from.display());
    }
    crate::app::make_private(dir);
    eprintln!("restored {} from {}", db.display(), args.from.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://./d/tollgate.db"), Some(PathBuf::from("./d/tollgate.db")));
        assert_eq!(sqlite_path("sqlite:///abs/t.db?mode=rwc"), Some(PathBuf::from("/abs/t.db")));
        assert_eq!(sqlite_path("sqlite:t.db"), Some(PathBuf::from("t.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
    }

    #[test]
    fn validation_errors_name_the_flag() {
        let e = cli_error(tollgate_core::DomainError::validation("maxDevices", "must be between 1 and 1000").into());
        assert_eq!(e.to_string(), "invalid --max-devices: must be between 1 and 1000");
        assert_eq!(parse_duration("30d"), Ok(DurationType::Days(30)));
        assert_eq!(parse_duration("12h"), Ok(DurationType::Hours(12)));
        assert!(parse_duration("2w").is_err());
    }

    /// Every other failure of a use case reads exactly as the admin API says it.
    #[test]
    fn typed_failures_read_as_the_admin_api_says_them() {
        use tollgate_store::{constraint, StoreError};
        let taken = |c: &str| ManageError::Store(StoreError::Conflict { constraint: c.to_owned() });
        for (e, text) in [
            (taken(constraint::SELLER_EMAIL), "An account with this email already exists"),
            (taken(constraint::APP_OWNER_NAME), "You already have an application with this name"),
            (ManageError::NotFound("Application"), "Application not found"),
            (ManageError::Domain(DomainError::Busy), "Server is busy, try again shortly"),
            (ManageError::Domain(DomainError::MissingFields("name".into())), "Missing field: name"),
        ] {
            assert_eq!(cli_error(e).to_string(), text);
        }
    }
}
