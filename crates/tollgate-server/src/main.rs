//! `tollgate`: the server and its operator commands (see `tollgate_server::cli`).

use std::path::PathBuf;

use clap::{CommandFactory, Parser};
use tollgate_server::cli::Command;
use tollgate_server::config::{Config, RawConfig};

#[derive(Parser)]
#[command(
    name = "tollgate",
    version,
    about = "Self-hosted licensing and authentication server",
    after_help = "Settings come from built-in defaults, then --config FILE, then TOLLGATE_* environment variables, then flags."
)]
struct Cli {
    /// TOML configuration file
    #[arg(long, global = true, help_heading = "Settings (also TOLLGATE_* variables and --config)")]
    config: Option<PathBuf>,
    #[command(flatten, next_help_heading = "Settings (also TOLLGATE_* variables and --config)")]
    flags: RawConfig,
    #[command(subcommand)]
    command: Option<Command>,
}

fn main() -> std::process::ExitCode {
    // Everything this process creates (database, WAL, keys, uploads, backups) is the owner's only.
    #[cfg(unix)]
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Completions(args)) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "tollgate", &mut std::io::stdout());
            return std::process::ExitCode::SUCCESS;
        }
        Some(Command::Man) => {
            let man = clap_mangen::Man::new(Cli::command());
            return match man.render(&mut std::io::stdout()) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tollgate: cannot write the man page: {e}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = match Config::load(cli.config.as_deref(), RawConfig::from_env(|k| std::env::var(k).ok()), cli.flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tollgate: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tollgate: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(tollgate_server::cli::run(cli.command.unwrap_or(Command::Serve), config));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
