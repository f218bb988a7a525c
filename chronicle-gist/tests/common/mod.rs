//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chronicle_gist::export::{ExportConfig, ExportError, ExportReport, Exporter};
use chronicle_gist::github::GithubClient;
use chronicle_gist_testkit::bench::NO_BUDGET;
use chronicle_gist_testkit::fake_github::FakeGithub;
use chronicle_gist_testkit::memory::MemoryQueue;

/// A client for the fake with its accepted token. No reset margin: the
/// fake and the test share one clock.
pub fn client(github: &FakeGithub) -> GithubClient {
    GithubClient::new(github.url(), Some(FakeGithub::TOKEN.into()))
        .with_reset_margin(Duration::ZERO)
}

/// Drain-and-exit settings with short waits and no request spacing.
pub fn drain_config() -> ExportConfig {
    ExportConfig {
        exit_when_idle: true,
        poll_interval: Duration::from_millis(100),
        min_request_interval: Duration::ZERO,
        budget: NO_BUDGET,
        ..ExportConfig::default()
    }
}

/// Runs the exporter over a clone of `queue` until nothing is claimable.
pub fn drain(
    queue: &MemoryQueue,
    client: &GithubClient,
    config: ExportConfig,
) -> (Result<(), ExportError>, ExportReport) {
    let stop = AtomicBool::new(false);
    let mut exporter = Exporter::new(queue.clone(), client, config, &stop);
    let result = exporter.run();
    (result, exporter.report().clone())
}

/// Pretty JSON as the database sends it.
pub fn pretty(json: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    serde_json::to_string_pretty(&value).unwrap() + "\n"
}
