//! A smoke test against the real GitHub, for users and maintainers with a
//! token: exports one small file to a gist of yours, verifies it, and
//! imports it back, printing each step.
//!
//! Skipped unless both are set:
//!
//! * `CHRONICLE_GITHUB_SMOKE_TOKEN`: a token with the gist scope;
//! * `CHRONICLE_GITHUB_SMOKE_GIST`: the id of a gist it may change (the
//!   test writes `chronicle-smoke.probe.json` and leaves it there).
//!
//! `GITHUB_API_URL` points it at GitHub Enterprise. Run it with
//! `cargo test -p chronicle-gist --test github_smoke -- --nocapture`.
//! It sends one PATCH (within the default write budget) and a few GETs.

use std::sync::atomic::AtomicBool;

use chronicle_gist::export::{ExportConfig, Exporter};
use chronicle_gist::github::{GithubClient, DEFAULT_API_URL};
use chronicle_gist::import::{run_import, ImportOptions};
use chronicle_gist::time::Timestamp;
use chronicle_gist::verify::{run_verify, Status, VerifyOptions};
use chronicle_gist::Mode;
use chronicle_gist_testkit::memory::{MemoryQueue, MemoryStore, NewExport};

const ENTITY_TYPE: &str = "chronicle-smoke";
const TEMPLATE: &str = "chronicle-smoke.{entity_id}.json";
const FILE: &str = "chronicle-smoke.probe.json";

#[test]
fn export_verify_and_import_one_file_on_github() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (Some(token), Some(gist)) = (
        var("CHRONICLE_GITHUB_SMOKE_TOKEN"),
        var("CHRONICLE_GITHUB_SMOKE_GIST"),
    ) else {
        eprintln!(
            "skipped: set CHRONICLE_GITHUB_SMOKE_TOKEN and CHRONICLE_GITHUB_SMOKE_GIST to run against GitHub"
        );
        return;
    };
    let api = var("GITHUB_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_string());
    let github = GithubClient::new(&api, Some(token));
    let state = format!(
        "{{\n  \"smoke\": \"chronicle-gist\",\n  \"at\": \"{}\"\n}}\n",
        Timestamp::now()
    );

    println!("1. export: {FILE} to gist {gist} on {api}");
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::write(&gist, FILE, &state, Mode::Latest, 1));
    let stop = AtomicBool::new(false);
    let config = ExportConfig {
        exit_when_idle: true,
        ..ExportConfig::default()
    };
    let mut exporter = Exporter::new(queue.clone(), &github, config, &stop);
    exporter.run().expect("the export runs");
    let report = exporter.report().clone();
    println!("   {report}");
    assert_eq!(report.acked, 1, "{report}");
    let (_, revision) = queue.acks().pop().expect("one ack");
    println!("   revision {revision}");

    println!("2. verify: the file against the state just exported");
    let mut store = MemoryStore::new();
    store.add_target(ENTITY_TYPE, &gist, TEMPLATE, Mode::Latest);
    store.set_state(ENTITY_TYPE, "probe", &state);
    let options = VerifyOptions {
        gist_id: Some(gist.clone()),
        entity_type: Some(ENTITY_TYPE.into()),
    };
    let report = run_verify(&mut store, &github, &options).expect("verify runs");
    print!("{}", report.render_table());
    assert_eq!(report.count(Status::Match), 1);

    println!("3. import: the gist's history as {ENTITY_TYPE} into an empty store");
    let mut copy = MemoryStore::new();
    copy.add_target(ENTITY_TYPE, &gist, TEMPLATE, Mode::Latest);
    let report = run_import(
        &mut copy,
        &github,
        &ImportOptions {
            gist_id: gist.clone(),
            entity_type: ENTITY_TYPE.into(),
            progress: false,
        },
    )
    .expect("import runs");
    println!("   {report}");
    let versions = copy.versions(ENTITY_TYPE, "probe");
    let last = versions.last().expect("the probe was imported");
    assert_eq!(
        chronicle_json::parse(&last.state_json).unwrap(),
        chronicle_json::parse(&state).unwrap()
    );
    println!(
        "   {} version(s) of probe imported; the newest equals the exported state",
        versions.len()
    );
}
