//! A small benchmark helper: drain queued exports and report how many
//! requests that took and how long.
//!
//! [`bench_fake_export`] needs nothing but this crate (fake queue, fake
//! API); [`drain_queue`] works on any [`Queue`], e.g. a
//! [`chronicle_gist::pg::PgDatabase`] whose targets point at gists created in a
//! [`FakeGithub`] with [`FakeGithub::create_gist_with_id`].

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::fake_github::FakeGithub;
use crate::memory::{MemoryQueue, NewExport};
use chronicle_gist::db::{BudgetLimits, Mode, Queue, WriteBudget};
use chronicle_gist::export::{ExportConfig, ExportError, ExportReport, Exporter};
use chronicle_gist::github::GithubClient;

/// A write budget so large it never holds anything back: for benchmarks
/// and tests that are not about the budget.
pub const NO_BUDGET: BudgetLimits = BudgetLimits {
    per_minute: i32::MAX as u32,
    per_hour: i32::MAX as u32,
    minute: Duration::from_secs(60),
    hour: Duration::from_secs(3600),
};

/// Result of [`bench_fake_export`].
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub rows: usize,
    pub files: usize,
    pub mode: Mode,
    pub batch_size: u32,
    /// PATCH requests the exporter sent.
    pub requests_sent: u64,
    /// Gist revisions created.
    pub revisions: usize,
    pub acked: u64,
    pub elapsed: Duration,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "{} rows over {} files ({} mode, batch {}): {} requests, {} revisions, {} acked in {:.3}s ({:.0} rows/s)",
            self.rows,
            self.files,
            self.mode.as_str(),
            self.batch_size,
            self.requests_sent,
            self.revisions,
            self.acked,
            secs,
            if secs > 0.0 { self.rows as f64 / secs } else { 0.0 }
        )
    }
}

/// Runs the exporter with `exit_when_idle` until the queue has nothing
/// claimable; returns its counters and the elapsed time.
pub fn drain_queue<Q: Queue + WriteBudget>(
    queue: Q,
    github: &GithubClient,
    config: ExportConfig,
) -> Result<(ExportReport, Duration), ExportError> {
    let stop = AtomicBool::new(false);
    let config = ExportConfig {
        exit_when_idle: true,
        ..config
    };
    let started = Instant::now();
    let mut exporter = Exporter::new(queue, github, config, &stop);
    exporter.run()?;
    Ok((exporter.report().clone(), started.elapsed()))
}

/// Queues `rows` writes spread over `files` files of one fake gist and
/// drains them against a fresh [`FakeGithub`].
///
/// # Panics
/// If the exporter fails (it should not against the fake).
pub fn bench_fake_export(rows: usize, files: usize, mode: Mode, batch_size: u32) -> BenchReport {
    let files = files.max(1);
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "benchmark gist")]);
    let queue = MemoryQueue::new();
    for i in 0..rows {
        let file = format!("doc{}.json", i % files);
        let version = (i / files) as i64 + 1;
        let content = format!(
            "{{\n  \"file\": {},\n  \"version\": {version}\n}}\n",
            i % files
        );
        queue.enqueue(NewExport::write(&gist, &file, &content, mode, version));
    }
    let client = GithubClient::new(github.url(), Some(FakeGithub::TOKEN.into()));
    let config = ExportConfig {
        batch_size,
        min_request_interval: Duration::ZERO,
        budget: NO_BUDGET,
        ..ExportConfig::default()
    };
    let (report, elapsed) =
        drain_queue(queue.clone(), &client, config).expect("draining against the fake API");
    BenchReport {
        rows,
        files,
        mode,
        batch_size,
        requests_sent: report.requests,
        revisions: github.revisions(&gist).len() - 1,
        acked: report.acked,
        elapsed,
    }
}
