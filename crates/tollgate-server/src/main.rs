//! `tollgate`: the server and its operator commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tollgate_server::config::{Config, RawConfig};

#[derive(Parser)]
#[command(name = "tollgate", version, about = "Self-hosted licensing and authentication server")]
struct Cli {
    /// TOML configuration file
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    flags: RawConfig,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default)
    Serve,
    /// Apply database migrations and exit
    Migrate,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .with_writer(std::io::stderr)
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
    let result = rt.block_on(run(cli.command.unwrap_or(Command::Serve), config));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| anyhow::anyhow!("invalid setting `listen`: cannot bind {}: {e}", config.listen))?;
            let state = tollgate_server::app::build_state(config).await?;
            tracing::info!(addr = %listener.local_addr()?, database = state.store.backend(), "tollgate listening");
            tollgate_server::app::serve_on(listener, state, tollgate_server::app::shutdown_signal()).await
        }
        Command::Migrate => {
            tollgate_server::app::open_store(&config).await?;
            println!("migrations applied");
            Ok(())
        }
    }
}
