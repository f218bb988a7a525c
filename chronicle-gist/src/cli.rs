//! Command-line interface: argument parsing and the glue that connects the
//! database, the GitHub client and the three commands.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use crate::db::{BudgetLimits, DEFAULT_WRITES_PER_HOUR, DEFAULT_WRITES_PER_MINUTE};
use crate::export::{ExportConfig, ExportError, ExportReport, Exporter};
use crate::github::{sleep_unless_stopped, GithubClient, DEFAULT_API_URL};
use crate::import::{run_import, ImportOptions};
use crate::pg::PgDatabase;
use crate::verify::{run_verify, VerifyOptions};

/// Success (verify: everything matches).
pub const EXIT_OK: u8 = 0;
/// `verify` found mismatched, missing or unreadable files.
pub const EXIT_OUT_OF_SYNC: u8 = 1;
/// Bad command line (clap's own code).
pub const EXIT_USAGE: u8 = 2;
/// Could not do the job: database unreachable, token rejected, unknown gist...
pub const EXIT_FAILURE: u8 = 3;

const AFTER_HELP: &str = "\
Environment:
  DATABASE_URL    database URL, when --database-url is not given; TLS as libpq:
                  sslmode=disable|prefer|require|verify-ca|verify-full and
                  sslrootcert=FILE (or PGSSLMODE, PGSSLROOTCERT)
  GITHUB_TOKEN    GitHub token with the gist scope (sent as a Bearer token)
  GITHUB_API_URL  API base URL, when --api-url is not given
  CHRONICLE_GIST_LOG  log filter (default info; e.g. warn, or chronicle_gist::http=warn)

Exit status: 0 success, 1 verify found differences, 2 usage error,
3 failure (database unreachable, token rejected, unknown gist, ...).";

/// Keeps GitHub Gists in sync with pg_chronicle: exports queued states,
/// imports a gist's history, verifies both agree.
#[derive(Debug, Parser)]
#[command(name = "chronicle-gist", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// PostgreSQL URL of the pg_chronicle database (postgres://user@host/db)
    #[arg(
        long,
        env = "DATABASE_URL",
        global = true,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,

    /// Base URL of the GitHub REST API (GitHub Enterprise: https://HOST/api/v3)
    #[arg(long, env = "GITHUB_API_URL", global = true, default_value = DEFAULT_API_URL, value_name = "URL")]
    pub api_url: String,

    /// Log lines as human-readable text or as JSON objects, one per line
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "CHRONICLE_GIST_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send queued states to their gists (chronicle.export_claim/ack/fail/release)
    ///
    /// Waits on LISTEN chronicle_export (polling as a fallback), claims
    /// batches and sends each with PATCH /gists/{id}, acking every row with
    /// the Gist revision GitHub returns. Honours GitHub's rate limits and
    /// spaces requests (--min-request-interval). SIGINT/SIGTERM finish the
    /// request in flight and give the other claimed rows back
    /// (export_release); a second signal quits at once.
    #[command(after_help = AFTER_HELP)]
    Export(ExportArgs),
    /// Load every revision of a gist's files into the state store, oldest first
    ///
    /// Reads GET /gists/{id}/commits and every revision, and appends each
    /// changed file as a version of the entity it stands for, valid from
    /// the revision's commit time. The entity id comes from the file name
    /// through the type's file name template in chronicle.gist_targets
    /// (without a target: the name without .json and a leading "TYPE.").
    /// Re-running imports nothing twice. Files that cannot be imported
    /// (malformed JSON, ...) are skipped and listed with the reason.
    #[command(after_help = AFTER_HELP)]
    Import(ImportArgs),
    /// Compare each current entity with its gist file by canonical-JSON checksum
    ///
    /// Prints a table with one row per entity: match, MISMATCH, MISSING,
    /// UNREADABLE or GIST ERROR (and untracked gist files), then exits 1
    /// when any row is not a match.
    #[command(after_help = AFTER_HELP)]
    Verify(VerifyArgs),
}

/// Options of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Rows claimed at a time
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000), value_name = "N")]
    pub batch_size: u32,

    /// Lease requested for claimed rows, in seconds
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..), value_name = "SECONDS")]
    pub lease: u64,

    /// Claim again after this many seconds even without a notification
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..), value_name = "SECONDS")]
    pub poll_interval: u64,

    /// Longest rate-limit wait to sit out with rows claimed; longer waits give them back
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub max_hold: u64,

    /// Least time between two PATCH requests, in seconds (GitHub asks for 1;
    /// rapid writes to a file coalesce meanwhile)
    #[arg(long, default_value_t = 1.0, value_parser = parse_seconds, value_name = "SECONDS")]
    pub min_request_interval: f64,

    /// Most files sent in one PATCH (latest mode)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=300), value_name = "N")]
    pub max_files_per_request: u64,

    /// Drain the queue, then exit (for cron jobs and scripts)
    #[arg(long)]
    pub exit_when_idle: bool,

    /// Most PATCH requests per sliding minute, shared by every exporter of
    /// the database (GitHub allows 80 content-creating requests a minute)
    #[arg(long, env = "CHRONICLE_GIST_MAX_WRITES_PER_MINUTE", default_value_t = DEFAULT_WRITES_PER_MINUTE,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_writes_per_minute: u32,

    /// Most PATCH requests per sliding hour, shared by every exporter of
    /// the database (GitHub allows 500 content-creating requests an hour)
    #[arg(long, env = "CHRONICLE_GIST_MAX_WRITES_PER_HOUR", default_value_t = DEFAULT_WRITES_PER_HOUR,
          value_parser = clap::value_parser!(u32).range(1..=100_000_000), value_name = "N")]
    pub max_writes_per_hour: u32,
}

/// The ETag cache of `verify` and `import`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Where ETags and bodies of earlier answers are kept, per token, for
    /// conditional requests (default: $XDG_CACHE_HOME/chronicle-gist or
    /// ~/.cache/chronicle-gist)
    #[arg(long, env = "CHRONICLE_GIST_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<std::path::PathBuf>,

    /// Send no conditional requests and keep nothing on disk
    #[arg(long)]
    pub no_cache: bool,
}

impl CacheArgs {
    /// The cache folder, or `None` without one.
    pub fn dir(&self) -> Option<std::path::PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache_dir.clone().or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .filter(|d| !d.is_empty())
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache"))
                })?;
            Some(base.join("chronicle-gist"))
        })
    }
}

/// Options of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The gist to import
    #[arg(long, value_name = "GIST_ID")]
    pub gist: String,

    /// Entity type the gist's files become
    #[arg(long, value_name = "TYPE")]
    pub entity_type: String,

    /// Do not draw the progress bar
    #[arg(long)]
    pub no_progress: bool,

    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Options of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Only the targets exporting to this gist (default: every enabled target)
    #[arg(long, value_name = "GIST_ID")]
    pub gist: Option<String>,

    /// Only this entity type
    #[arg(long, value_name = "TYPE")]
    pub entity_type: Option<String>,

    #[command(flatten)]
    pub cache: CacheArgs,
}

impl ExportArgs {
    pub fn config(&self) -> ExportConfig {
        ExportConfig {
            batch_size: self.batch_size,
            lease: Duration::from_secs(self.lease),
            poll_interval: Duration::from_secs(self.poll_interval),
            max_hold: Duration::from_secs(self.max_hold),
            exit_when_idle: self.exit_when_idle,
            max_files_per_request: self.max_files_per_request as usize,
            min_request_interval: Duration::from_secs_f64(self.min_request_interval),
            budget: BudgetLimits {
                per_minute: self.max_writes_per_minute,
                per_hour: self.max_writes_per_hour,
                ..BudgetLimits::default()
            },
            ..ExportConfig::default()
        }
    }
}

/// A non-negative number of seconds (fractions allowed).
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=86_400.0).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "expected seconds between 0 and 86400, not {text:?}"
        )),
    }
}

/// Makes SIGINT and SIGTERM set `stop` (the export loop checks it between
/// requests). A second signal while stopping exits at once with 130.
pub fn install_stop_handlers(stop: &Arc<AtomicBool>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for signal in [SIGINT, SIGTERM] {
        // Registered first, so it sees the flag as it was before this
        // signal: only a repeated signal exits.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(stop))?;
        signal_hook::flag::register(signal, Arc::clone(stop))?;
    }
    Ok(())
}

/// The program: parse the command line and run.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let token = std::env::var("GITHUB_TOKEN").ok();
    ExitCode::from(run(cli, token))
}

/// Log lines on stderr: `chronicle-gist: LEVEL target: message key=value`
/// for people, or one JSON object per line. `CHRONICLE_GIST_LOG` filters
/// (tracing's EnvFilter syntax; default `info`).
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("CHRONICLE_GIST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

fn error(message: impl std::fmt::Display) -> u8 {
    tracing::error!("{message}");
    EXIT_FAILURE
}

/// Runs a parsed command line; returns the exit status.
pub fn run(cli: Cli, token: Option<String>) -> u8 {
    let token = token.filter(|t| !t.trim().is_empty());
    let Some(database_url) = cli.database_url.as_deref().filter(|u| !u.is_empty()) else {
        return error("no database given: pass --database-url or set DATABASE_URL");
    };
    if token.is_none() {
        if matches!(cli.command, Command::Export(_)) {
            return error("GITHUB_TOKEN is not set; exporting needs a token with the gist scope");
        }
        tracing::warn!("GITHUB_TOKEN is not set; only public gists can be read");
    }
    let github = GithubClient::new(&cli.api_url, token);
    let mut db = match PgDatabase::connect(database_url) {
        Ok(db) => db,
        Err(e) => return error(format!("cannot use the database: {e}")),
    };
    match cli.command {
        Command::Export(args) => export(db, database_url, &github, &args),
        Command::Import(args) => {
            let github = with_cache(github, &args.cache);
            let options = ImportOptions {
                gist_id: args.gist,
                entity_type: args.entity_type,
                progress: !args.no_progress && std::io::stderr().is_terminal(),
            };
            match run_import(&mut db, &github, &options) {
                Ok(report) => {
                    let mapping = match &report.template {
                        Some(template) => format!("file names read with the target's template {template:?}"),
                        None => "no gist target for the type: ids are file names without .json and a leading TYPE.".into(),
                    };
                    tracing::info!(
                        "import of gist {} as {} ({mapping}): {report}",
                        options.gist_id,
                        options.entity_type
                    );
                    EXIT_OK
                }
                Err(e) => error(format!("import of gist {} stopped: {e}", options.gist_id)),
            }
        }
        Command::Verify(args) => {
            let github = with_cache(github, &args.cache);
            let options = VerifyOptions {
                gist_id: args.gist,
                entity_type: args.entity_type,
            };
            match run_verify(&mut db, &github, &options) {
                Ok(report) => {
                    if report.rows.is_empty() {
                        tracing::warn!(
                            "nothing to verify (no enabled gist target{})",
                            options
                                .gist_id
                                .as_deref()
                                .map(|g| format!(" for gist {g}"))
                                .unwrap_or_default()
                        );
                    }
                    print!("{}", report.render_table());
                    if report.in_sync() {
                        EXIT_OK
                    } else {
                        EXIT_OUT_OF_SYNC
                    }
                }
                Err(e) => error(format!("verify failed: {e}")),
            }
        }
    }
}

/// SQLSTATE 42883 (undefined function) or 42501 (insufficient privilege):
/// the database or the role needs setting up; retrying cannot help.
fn is_setup_error(error: &crate::db::DbError) -> bool {
    matches!(error, crate::db::DbError::Server { code, .. } if code == "42883" || code == "42501")
}

/// The client with the ETag cache of `args`, when there is one.
fn with_cache(github: GithubClient, args: &CacheArgs) -> GithubClient {
    match args.dir() {
        Some(dir) => github.with_etag_cache(&dir),
        None => github,
    }
}

/// The export command: runs the export loop until it is stopped, drained
/// (`--exit-when-idle`) or fails. A long-running exporter whose database
/// fails (connection lost, server restarted, extension being reinstalled)
/// reconnects, waiting 1 s, 2 s, ... up to 30 s between consecutive
/// failures; rows it had claimed come back when their leases expire.
fn export(db: PgDatabase, database_url: &str, github: &GithubClient, args: &ExportArgs) -> u8 {
    let stop = Arc::new(AtomicBool::new(false));
    if let Err(e) = install_stop_handlers(&stop) {
        return error(format!("cannot install signal handlers: {e}"));
    }
    let mut connection = Some(db);
    let mut total = ExportReport::default();
    let mut backoff = Duration::from_secs(1);
    let result = loop {
        let mut db = match connection.take() {
            Some(db) => db,
            None => match PgDatabase::connect(database_url) {
                Ok(db) => {
                    tracing::info!("reconnected to the database");
                    db
                }
                Err(e) => {
                    tracing::warn!(
                        "cannot reconnect ({e}); trying again in {}s",
                        backoff.as_secs()
                    );
                    sleep_unless_stopped(backoff, Some(&stop));
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    if stop.load(Ordering::SeqCst) {
                        total.stopped = true;
                        break Ok(());
                    }
                    continue;
                }
            },
        };
        if let Err(e) = db.listen() {
            tracing::warn!("LISTEN failed ({e}); polling every {}s", args.poll_interval);
        }
        let started = Instant::now();
        let mut exporter = Exporter::new(&mut db, github, args.config(), &stop);
        let result = exporter.run();
        total.add(exporter.report());
        if exporter.report().acked > 0 || started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_secs(1); // it worked for a while
        }
        match result {
            // A function the database lacks (pg_chronicle before 0.6.0) or may
            // not run for this role will not appear by reconnecting.
            Err(ExportError::Database(e))
                if !args.exit_when_idle && !stop.load(Ordering::SeqCst) && !is_setup_error(&e) =>
            {
                tracing::warn!("{e}; reconnecting in {}s", backoff.as_secs());
                sleep_unless_stopped(backoff, Some(&stop));
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            other => break other,
        }
    };
    tracing::info!("export: {total}");
    match result {
        Ok(()) if total.stopped => {
            tracing::info!(
                "stopped by signal{}",
                if total.released > 0 {
                    "; unsent rows were given back"
                } else {
                    ""
                }
            );
            EXIT_OK
        }
        Ok(()) => EXIT_OK,
        Err(ExportError::Unauthorized(message)) => error(format!("{message}; exporter stopped")),
        Err(e) => error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_each_command() {
        let cli = Cli::try_parse_from([
            "chronicle-gist",
            "export",
            "--exit-when-idle",
            "--batch-size",
            "5",
            "--database-url",
            "postgres://x/y",
        ])
        .unwrap();
        assert_eq!(cli.database_url.as_deref(), Some("postgres://x/y"));
        match cli.command {
            Command::Export(args) => {
                let config = args.config();
                assert!(config.exit_when_idle);
                assert_eq!(config.batch_size, 5);
                assert_eq!(config.lease, Duration::from_secs(60));
                assert_eq!(config.min_request_interval, Duration::from_secs(1));
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from([
            "chronicle-gist",
            "--api-url",
            "http://127.0.0.1:1",
            "import",
            "--gist",
            "abc",
            "--entity-type",
            "order",
        ])
        .unwrap();
        assert_eq!(cli.api_url, "http://127.0.0.1:1");
        assert!(
            matches!(cli.command, Command::Import(ImportArgs { ref gist, .. }) if gist == "abc")
        );
        assert!(Cli::try_parse_from(["chronicle-gist", "import", "--gist", "abc"]).is_err());
        assert!(Cli::try_parse_from(["chronicle-gist", "export", "--batch-size", "0"]).is_err());
        let cli =
            Cli::try_parse_from(["chronicle-gist", "export", "--min-request-interval", "0.25"])
                .unwrap();
        let Command::Export(args) = cli.command else {
            panic!("export expected")
        };
        assert_eq!(
            args.config().min_request_interval,
            Duration::from_millis(250)
        );
        for bad in ["-1", "nan", "soon"] {
            assert!(
                Cli::try_parse_from(["chronicle-gist", "export", "--min-request-interval", bad])
                    .is_err(),
                "{bad}"
            );
        }
    }
}
