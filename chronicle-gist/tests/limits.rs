//! GitHub's limits without PostgreSQL: the fake's secondary limit, the
//! exporter's write budget and pause against it, and conditional requests.
//! The budget shared between processes through PostgreSQL is in
//! tests/pg.rs.

mod common;

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chronicle_gist::db::BudgetLimits;
use chronicle_gist::export::{ExportConfig, Exporter};
use chronicle_gist::github::FileChange;
use chronicle_gist::verify::{run_verify, Status, VerifyOptions};
use chronicle_gist::{ApiError, Mode};
use chronicle_gist_testkit::fake_github::{FakeGithub, SecondaryLimit};
use chronicle_gist_testkit::memory::{MemoryQueue, MemoryStore, NewExport};
use common::{client, drain_config, pretty};

fn write(name: &str, content: &str) -> FileChange {
    FileChange::Write {
        file_name: name.into(),
        content: content.into(),
    }
}

#[test]
fn the_fake_enforces_a_sliding_secondary_limit_with_retry_after() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", "{}")]);
    github.set_secondary_limit(Some(SecondaryLimit {
        per_minute: 3,
        per_hour: 100,
        minute: Duration::from_millis(1500),
        hour: Duration::from_secs(60),
    }));
    let client = client(&github);
    for i in 0..3 {
        client
            .update_gist(&gist, &[write("a.json", &format!("{{\"n\": {i}}}"))])
            .unwrap();
    }
    let refused = client
        .update_gist(&gist, &[write("a.json", "{\"n\": 3}")])
        .unwrap_err();
    let ApiError::RateLimited {
        secondary,
        retry_after,
        ..
    } = refused
    else {
        panic!("expected a secondary limit, got {refused:?}")
    };
    assert!(secondary);
    let retry_after = retry_after.expect("Retry-After");
    assert!(retry_after >= Duration::from_secs(1), "{retry_after:?}");
    assert_eq!(github.secondary_refusals(), 1);
    // A GET while limited is refused too, and counted against us.
    assert!(matches!(
        client.get_gist(&gist),
        Err(ApiError::RateLimited {
            secondary: true,
            ..
        })
    ));
    assert_eq!(github.requests_while_limited(), 1);
    std::thread::sleep(retry_after);
    client
        .update_gist(&gist, &[write("a.json", "{\"n\": 4}")])
        .unwrap();
    assert_eq!(github.max_writes_in(Duration::from_millis(1500)), 3);
}

#[test]
fn the_exporter_keeps_its_budget_and_obeys_retry_after_with_no_request_meanwhile() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    // GitHub's proportions scaled down 100 times: 80 per 0.6 s, 500 per 36 s.
    let limit = SecondaryLimit::github_scaled(0.01);
    github.set_secondary_limit(Some(limit));
    let queue = MemoryQueue::new();
    for i in 0..120 {
        queue.enqueue(NewExport::write(
            &gist,
            &format!("e{}.json", i % 4),
            &pretty(&format!("{{\"i\": {i}}}")),
            Mode::EveryVersion,
            (i / 4 + 1) as i64,
        ));
    }
    // First an exporter whose budget is above the limit: it is refused,
    // then sends nothing until Retry-After has passed.
    let config = ExportConfig {
        budget: BudgetLimits {
            per_minute: 1000,
            per_hour: 1000,
            minute: limit.minute,
            hour: limit.hour,
        },
        secondary_limit_wait: Duration::from_millis(500),
        max_hold: Duration::from_secs(5),
        ..drain_config()
    };
    let client = client(&github);
    let stop = AtomicBool::new(false);
    let mut exporter = Exporter::new(queue.clone(), &client, config, &stop);
    exporter.run().unwrap();
    let report = exporter.report().clone();
    assert_eq!(report.acked, 120, "{report}");
    assert!(report.secondary_limited >= 1, "{report}");
    assert_eq!(github.requests_while_limited(), 0);
    assert_eq!(github.revision_count(&gist), 121);

    // Then one whose budget keeps a margin below the limit (the budget
    // counts when a write is taken, GitHub when it arrives): never refused.
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    github.set_secondary_limit(Some(limit));
    let queue = MemoryQueue::new();
    for i in 0..120 {
        queue.enqueue(NewExport::write(
            &gist,
            &format!("e{}.json", i % 4),
            &pretty(&format!("{{\"i\": {i}}}")),
            Mode::EveryVersion,
            (i / 4 + 1) as i64,
        ));
    }
    let config = ExportConfig {
        budget: BudgetLimits {
            per_minute: limit.per_minute as u32 - 4,
            per_hour: limit.per_hour as u32 - 20,
            minute: limit.minute,
            hour: limit.hour,
        },
        ..drain_config()
    };
    let client = common::client(&github);
    let mut exporter = Exporter::new(queue.clone(), &client, config, &stop);
    exporter.run().unwrap();
    let report = exporter.report().clone();
    assert_eq!(report.acked, 120, "{report}");
    assert_eq!(report.rate_limited, 0, "{report}");
    assert!(report.budget_waits > 0, "{report}");
    assert_eq!(github.secondary_refusals(), 0);
    assert!(github.max_writes_in(limit.minute) <= limit.per_minute);
}

#[test]
fn a_secondary_limit_without_retry_after_pauses_longer_on_each_hit() {
    let mut queue = MemoryQueue::new();
    use chronicle_gist::db::WriteBudget;
    let base = Duration::from_millis(200);
    let first = queue.note_secondary_limit(None, base, "limit").unwrap();
    assert!(
        first > Duration::from_millis(150) && first <= base,
        "{first:?}"
    );
    let second = queue.note_secondary_limit(None, base, "limit").unwrap();
    assert!(second > Duration::from_millis(350), "{second:?}");
    let third = queue.note_secondary_limit(None, base, "limit").unwrap();
    assert!(third > Duration::from_millis(750), "{third:?}");
    // Retry-After wins over the doubling, but never shortens a pause.
    let told = queue
        .note_secondary_limit(Some(Duration::from_millis(10)), base, "limit")
        .unwrap();
    assert!(told > Duration::from_millis(600), "{told:?}");
    let limits = BudgetLimits::default();
    assert!(queue.take_write(&limits).unwrap().is_some());
}

#[test]
fn verify_and_import_send_if_none_match_and_reuse_what_a_304_confirms() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("order.1.json", &pretty(r#"{"total": 1}"#))]);
    github.commit(&gist, &[("order.2.json", Some(&pretty(r#"{"total": 2}"#)))]);
    let cache = std::env::temp_dir().join(format!("chronicle-gist-etags-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let client = common::client(&github).with_etag_cache(&cache);
    let mut store = MemoryStore::new();
    store.add_target("order", &gist, "order.{entity_id}.json", Mode::Latest);
    store.set_state("order", "1", r#"{"total": 1}"#);
    store.set_state("order", "2", r#"{"total": 2}"#);

    for run in 0..2 {
        let report = run_verify(&mut store, &client, &VerifyOptions::default()).unwrap();
        assert_eq!(report.count(Status::Match), 2, "run {run}: {report:?}");
    }
    let gets: Vec<u16> = github
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/gists/"))
        .map(|r| r.status)
        .collect();
    assert_eq!(gets, [200, 304]);
    let second = github
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "GET")
        .unwrap();
    assert!(second.if_none_match.is_some());

    // A changed gist gets a new ETag: a full answer, and the new content.
    github.commit(&gist, &[("order.2.json", Some(&pretty(r#"{"total": 3}"#)))]);
    let report = run_verify(&mut store, &client, &VerifyOptions::default()).unwrap();
    assert_eq!(report.count(Status::Mismatch), 1);

    // Import twice into fresh stores: the second run's reads are all 304.
    let before = github.requests().len();
    let options = chronicle_gist::ImportOptions {
        gist_id: gist.clone(),
        entity_type: "order".into(),
        progress: false,
    };
    chronicle_gist::run_import(&mut MemoryStore::new(), &client, &options).unwrap();
    let middle = github.requests().len();
    let again = chronicle_gist::run_import(&mut MemoryStore::new(), &client, &options).unwrap();
    assert_eq!(again.imported, 3, "{again}");
    let statuses: Vec<u16> = github.requests()[middle..]
        .iter()
        .filter(|r| !r.path.starts_with("/raw/"))
        .map(|r| r.status)
        .collect();
    assert!(middle > before);
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| *s == 304),
        "{statuses:?}"
    );

    // Another token has a cache of its own.
    github.add_token("other-token");
    let other = chronicle_gist::GithubClient::new(github.url(), Some("other-token".into()))
        .with_etag_cache(&cache);
    other.get_gist(&gist).unwrap();
    assert_eq!(github.requests().last().unwrap().if_none_match, None);
    std::fs::remove_dir_all(&cache).unwrap();
}
