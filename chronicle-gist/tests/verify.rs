//! Verifying current entities against their gist files.

mod common;

use chronicle_gist::verify::{run_verify, Status, VerifyError, VerifyOptions};
use chronicle_gist::{ApiError, Mode};
use chronicle_gist_testkit::fake_github::FakeGithub;
use chronicle_gist_testkit::memory::MemoryStore;
use common::{client, pretty};

fn status_of(report: &chronicle_gist::VerifyReport, entity_id: &str) -> Status {
    report
        .rows
        .iter()
        .find(|r| r.entity_id == entity_id)
        .unwrap()
        .status
}

#[test]
fn reports_match_mismatch_missing_and_fails_on_any_difference() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[
        // Same JSON as entity 1 in another layout, key order and number spelling.
        (
            "order.1.json",
            "{\n  \"total\": 1.50,\n  \"items\": [1, 2]\n}\n",
        ),
        ("order.2.json", &pretty(r#"{"total": 2}"#)),
        ("order.4.json", "{oops"),
        ("README.md", "not an entity"),
    ]);
    let mut store = MemoryStore::new();
    store.add_target("order", &gist, "order.{entity_id}.json", Mode::Latest);
    store.set_state("order", "1", r#"{"items":[1,2],"total":1.5}"#);
    store.set_state("order", "2", r#"{"total": 3}"#);
    store.set_state("order", "3", r#"{"total": 4}"#);
    store.set_state("order", "4", r#"{"total": 5}"#);

    let report = run_verify(&mut store, &client(&github), &VerifyOptions::default()).unwrap();

    assert_eq!(status_of(&report, "1"), Status::Match);
    assert_eq!(status_of(&report, "2"), Status::Mismatch);
    assert_eq!(status_of(&report, "3"), Status::Missing);
    assert_eq!(status_of(&report, "4"), Status::Unreadable);
    let untracked: Vec<_> = report
        .rows
        .iter()
        .filter(|r| r.status == Status::Untracked)
        .collect();
    assert_eq!(untracked.len(), 1);
    assert_eq!(untracked[0].file_name, "README.md");
    assert!(!report.in_sync());

    let table = report.render_table();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("STATUS"), "{table}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("match") && l.contains("order/1") && l.contains("order.1.json")),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("MISMATCH") && l.contains("order/2") && l.contains("!=")),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("MISSING") && l.contains("order/3")),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("UNREADABLE") && l.contains("malformed JSON")),
        "{table}"
    );
    assert!(
        table.ends_with(
            "1 match, 1 mismatch, 1 missing, 1 unreadable, 0 gist errors, 1 untracked files\n"
        ),
        "{table}"
    );
}

#[test]
fn everything_matching_is_in_sync() {
    let github = FakeGithub::start();
    let big = format!("{{\"blob\": \"{}\"}}", "y".repeat(300));
    let gist = github.create_gist(&[("a.json", "[1, 2.0, 3e0]"), ("b.json", &big)]);
    // b.json comes back truncated and is read from its raw_url.
    github.set_truncate_above(100);
    let mut store = MemoryStore::new();
    store.add_target("doc", &gist, "{entity_id}.json", Mode::Latest);
    store.set_state("doc", "a", "[1,2,3]");
    store.set_state("doc", "b", &big);

    let report = run_verify(&mut store, &client(&github), &VerifyOptions::default()).unwrap();

    assert!(report.in_sync(), "{}", report.render_table());
    assert_eq!(report.count(Status::Match), 2);
    assert!(github
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/b.json") && r.path.starts_with("/raw/")));
}

#[test]
fn a_missing_gist_is_reported_for_its_entities() {
    let github = FakeGithub::start();
    let mut store = MemoryStore::new();
    store.add_target("doc", "deadbeef", "{entity_id}.json", Mode::Latest);
    store.set_state("doc", "a", "{}");

    let report = run_verify(&mut store, &client(&github), &VerifyOptions::default()).unwrap();

    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.rows[0].status, Status::GistError);
    assert!(
        report.rows[0].detail.contains("404 Not Found"),
        "{}",
        report.rows[0].detail
    );
    assert!(!report.in_sync());
}

#[test]
fn only_the_requested_gist_is_checked() {
    let github = FakeGithub::start();
    let good = github.create_gist(&[("a.json", "{}")]);
    let other = github.create_gist(&[("x.json", "1")]);
    let mut store = MemoryStore::new();
    store.add_target("doc", &good, "{entity_id}.json", Mode::Latest);
    store.add_target("thing", &other, "{entity_id}.json", Mode::Latest);
    store.set_state("doc", "a", "{}");
    store.set_state("thing", "x", "2");
    let client = client(&github);

    let all = run_verify(&mut store, &client, &VerifyOptions::default()).unwrap();
    let only_good = run_verify(
        &mut store,
        &client,
        &VerifyOptions {
            gist_id: Some(good.clone()),
            entity_type: None,
        },
    )
    .unwrap();

    assert!(!all.in_sync());
    assert!(only_good.in_sync());
    assert_eq!(only_good.rows.len(), 1);
    assert_eq!(only_good.rows[0].gist_id, good);
}

#[test]
fn a_rejected_token_stops_verification() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", "{}")]);
    let mut store = MemoryStore::new();
    store.add_target("doc", &gist, "{entity_id}.json", Mode::Latest);
    store.set_state("doc", "a", "{}");
    let bad = chronicle_gist::GithubClient::new(github.url(), Some("wrong".into()));

    let error = run_verify(&mut store, &bad, &VerifyOptions::default()).unwrap_err();

    assert!(
        matches!(error, VerifyError::Github(ApiError::Unauthorized { .. })),
        "{error:?}"
    );
    assert!(error.to_string().contains("Bad credentials"));
}

#[test]
fn files_beyond_the_listed_300_are_unreadable_not_missing() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", "{}"), ("b.json", "{}")]);
    github.set_max_listed_files(1);
    let mut store = MemoryStore::new();
    store.add_target("doc", &gist, "{entity_id}.json", Mode::Latest);
    store.set_state("doc", "a", "{}");
    store.set_state("doc", "b", "{}");

    let report = run_verify(&mut store, &client(&github), &VerifyOptions::default()).unwrap();

    assert_eq!(status_of(&report, "a"), Status::Match);
    let b = report.rows.iter().find(|r| r.entity_id == "b").unwrap();
    assert_eq!(b.status, Status::Unreadable);
    assert!(b.detail.contains("300 files"), "{}", b.detail);
}

#[test]
fn a_disabled_target_asked_for_by_gist_names_files_by_its_template() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("doc-a.json", "{\"x\": 1}")]);
    let mut store = MemoryStore::new();
    store.add_target("doc", &gist, "doc-{entity_id}.json", Mode::Latest);
    store.set_state("doc", "a", "{\"x\": 1}");
    store.disable_target("doc");
    let client = client(&github);

    let all = run_verify(&mut store, &client, &VerifyOptions::default()).unwrap();
    let by_gist = run_verify(
        &mut store,
        &client,
        &VerifyOptions {
            gist_id: Some(gist.clone()),
            entity_type: None,
        },
    )
    .unwrap();

    assert!(
        all.rows.is_empty(),
        "disabled targets are skipped by default"
    );
    assert_eq!(
        by_gist.count(Status::Match),
        1,
        "{}",
        by_gist.render_table()
    );
    assert_eq!(by_gist.rows[0].file_name, "doc-a.json");
}

#[test]
fn an_entity_whose_id_makes_no_file_name_is_reported_missing() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("ok.json", "{}")]);
    let mut store = MemoryStore::new();
    store.add_target("doc", &gist, "{entity_id}.json", Mode::Latest);
    store.set_state("doc", "ok", "{}");
    store.set_state("doc", "a/b", "{}");

    let report = run_verify(&mut store, &client(&github), &VerifyOptions::default()).unwrap();

    assert_eq!(status_of(&report, "ok"), Status::Match);
    let bad = report.rows.iter().find(|r| r.entity_id == "a/b").unwrap();
    assert_eq!((bad.status, bad.file_name.as_str()), (Status::Missing, "-"));
    assert!(bad.detail.contains("cannot be exported"), "{}", bad.detail);
}
