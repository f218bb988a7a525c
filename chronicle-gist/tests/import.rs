//! Importing gist histories into the in-memory state store.

mod common;

use std::time::Duration;

use chronicle_gist::import::{run_import, ImportError, ImportOptions};
use chronicle_gist::{ApiError, Mode};
use chronicle_gist_testkit::fake_github::FakeGithub;
use chronicle_gist_testkit::memory::MemoryStore;
use common::client;

fn options(gist: &str, entity_type: &str) -> ImportOptions {
    ImportOptions {
        gist_id: gist.into(),
        entity_type: entity_type.into(),
        progress: false,
    }
}

#[test]
fn imports_every_changed_file_revision_oldest_first() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("order.1.json", r#"{"n": 1}"#), ("README.md", "orders")]);
    let rev1 = github.commit(
        &gist,
        &[
            ("order.1.json", Some(r#"{"n": 2}"#)),
            ("order.2.json", Some(r#"{"n": 1}"#)),
        ],
    );
    let rev2 = github.commit(&gist, &[("order.2.json", Some(r#"{"n": 2}"#))]);
    github.commit(&gist, &[("order.1.json", None)]);
    let revisions = github.revisions(&gist);
    let mut store = MemoryStore::new();

    let report = run_import(&mut store, &client(&github), &options(&gist, "order")).unwrap();

    assert_eq!(report.revisions, 4);
    assert_eq!(report.imported, 4);
    assert_eq!(report.already_imported, 0);
    assert_eq!(report.removed_files, 1);
    // README.md is reported once (it never changes afterwards).
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].file_name, "README.md");
    assert_eq!(report.skipped[0].reason, "not a .json file");

    let one = store.versions("order", "1");
    let two = store.versions("order", "2");
    assert_eq!(
        one.iter()
            .map(|v| v.state_json.as_str())
            .collect::<Vec<_>>(),
        [r#"{"n": 1}"#, r#"{"n": 2}"#]
    );
    assert_eq!(
        two.iter()
            .map(|v| v.state_json.as_str())
            .collect::<Vec<_>>(),
        [r#"{"n": 1}"#, r#"{"n": 2}"#]
    );
    // Each version remembers where it came from.
    let origin =
        |v: &chronicle_gist_testkit::memory::StoredVersion| v.imported_from.clone().unwrap();
    assert_eq!(
        origin(&one[0]),
        (
            gist.clone(),
            revisions[0].version.clone(),
            "order.1.json".into()
        )
    );
    assert_eq!(
        origin(&one[1]),
        (gist.clone(), rev1.clone(), "order.1.json".into())
    );
    assert_eq!(origin(&two[0]), (gist.clone(), rev1, "order.2.json".into()));
    assert_eq!(origin(&two[1]), (gist.clone(), rev2, "order.2.json".into()));
    // valid_from is the revision's commit time; GitHub's whole seconds may
    // tie, then it moves on by microseconds, within the same second.
    for version in one.iter().chain(&two) {
        let (_, revision, _) = origin(version);
        let committed = revisions
            .iter()
            .find(|r| r.version == revision)
            .unwrap()
            .committed_at;
        assert_eq!(version.valid_from.truncate_to_secs(), committed);
    }
    assert!(one[0].valid_from < one[1].valid_from);
    assert!(two[0].valid_from < two[1].valid_from);
}

#[test]
fn keeps_each_revisions_commit_time_as_valid_from() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", "1")]);
    std::thread::sleep(Duration::from_millis(1100));
    github.commit(&gist, &[("a.json", Some("2"))]);
    let revisions = github.revisions(&gist);
    assert!(revisions[0].committed_at < revisions[1].committed_at);
    let mut store = MemoryStore::new();

    let report = run_import(&mut store, &client(&github), &options(&gist, "doc")).unwrap();

    assert_eq!(report.nudged_times, 0);
    let versions = store.versions("doc", "a");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].valid_from, revisions[0].committed_at);
    assert_eq!(versions[1].valid_from, revisions[1].committed_at);
}

#[test]
fn re_running_the_import_imports_nothing_twice() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("doc.a.json", r#"{"v": 1}"#)]);
    github.commit(
        &gist,
        &[
            ("doc.a.json", Some(r#"{"v": 2}"#)),
            ("doc.b.json", Some("[]")),
        ],
    );
    let mut store = MemoryStore::new();
    let client = client(&github);

    let first = run_import(&mut store, &client, &options(&gist, "doc")).unwrap();
    let second = run_import(&mut store, &client, &options(&gist, "doc")).unwrap();

    assert_eq!(first.imported, 3);
    assert_eq!(second.imported, 0);
    assert_eq!(second.already_imported, 3);
    assert!(second.skipped.is_empty(), "{:?}", second.skipped);
    assert_eq!(store.versions("doc", "a").len(), 2);
    assert_eq!(store.versions("doc", "b").len(), 1);

    // A later revision is picked up by the next run, and only it.
    github.commit(&gist, &[("doc.b.json", Some("[1]"))]);
    let third = run_import(&mut store, &client, &options(&gist, "doc")).unwrap();
    assert_eq!((third.imported, third.already_imported), (1, 3));
    assert_eq!(store.versions("doc", "b").len(), 2);
}

#[test]
fn malformed_json_is_skipped_with_the_reason_and_nothing_else_is_lost() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("good.json", r#"{"a": 1}"#)]);
    let bad_revision = github.commit(
        &gist,
        &[
            ("good.json", Some(r#"{"a": 2}"#)),
            ("bad.json", Some("{not json")),
        ],
    );
    github.commit(&gist, &[("bad.json", Some(r#"{"fixed": true}"#))]);
    let mut store = MemoryStore::new();

    let report = run_import(&mut store, &client(&github), &options(&gist, "doc")).unwrap();

    assert_eq!(report.skipped.len(), 1);
    let skipped = &report.skipped[0];
    assert_eq!(skipped.file_name, "bad.json");
    assert_eq!(skipped.revision, bad_revision);
    assert!(
        skipped.reason.starts_with("malformed JSON"),
        "{}",
        skipped.reason
    );
    assert_eq!(report.imported, 3);
    assert_eq!(store.versions("doc", "good").len(), 2);
    let bad = store.versions("doc", "bad");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].state_json, r#"{"fixed": true}"#);
}

#[test]
fn truncated_files_are_read_from_their_raw_url() {
    let github = FakeGithub::start();
    // Above GitHub's 1 MB inline limit (the fake's default).
    let big = format!("{{\"blob\": \"{}\"}}", "x".repeat(1_200_000));
    let gist = github.create_gist(&[("big.json", &big), ("small.json", "{}")]);
    let client = client(&github);
    let listed = client.get_gist(&gist).unwrap();
    assert!(listed.files["big.json"].truncated);
    assert_eq!(
        listed.files["big.json"].content.as_ref().unwrap().len(),
        1024 * 1024
    );
    let mut store = MemoryStore::new();

    let report = run_import(&mut store, &client, &options(&gist, "doc")).unwrap();

    assert_eq!(report.imported, 2);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(store.versions("doc", "big")[0].state_json, big);
    let raw: Vec<_> = github
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/raw/"))
        .collect();
    assert_eq!(raw.len(), 1, "only the truncated file is fetched raw");
    assert!(raw[0].path.ends_with("/big.json"));
}

#[test]
fn long_histories_are_read_across_pages() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("counter.json", "0")]);
    for n in 1..130 {
        github.commit(&gist, &[("counter.json", Some(&n.to_string()))]);
    }
    let mut store = MemoryStore::new();

    let report = run_import(&mut store, &client(&github), &options(&gist, "doc")).unwrap();

    assert_eq!(report.revisions, 130);
    assert_eq!(report.imported, 130);
    let pages = github
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/commits"))
        .count();
    assert_eq!(pages, 2, "per_page=100, then the Link rel=next page");
    let versions = store.versions("doc", "counter");
    let values: Vec<String> = versions.iter().map(|v| v.state_json.clone()).collect();
    assert_eq!(values, (0..130).map(|n| n.to_string()).collect::<Vec<_>>());
    assert!(versions
        .windows(2)
        .all(|w| w[0].valid_from < w[1].valid_from));
}

#[test]
fn an_unknown_gist_is_a_clear_error() {
    let github = FakeGithub::start();
    let mut store = MemoryStore::new();

    let error = run_import(&mut store, &client(&github), &options("feedface", "doc")).unwrap_err();

    assert!(
        matches!(error, ImportError::Github(ApiError::NotFound { .. })),
        "{error:?}"
    );
    assert!(error.to_string().contains("404 Not Found"), "{error}");
    assert_eq!(store.import_calls(), 0);
}

#[test]
fn a_version_the_database_refuses_is_skipped_with_its_reason() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", r#"{"old": true}"#), ("b.json", "{}")]);
    // Entity `a` changed after the gist revision: an older valid_from is refused.
    let store = MemoryStore::new();
    std::thread::sleep(Duration::from_millis(20));
    store.set_state("doc", "a", r#"{"new": true}"#);
    assert!(store.versions("doc", "a")[0].valid_from > github.revisions(&gist)[0].committed_at);
    let mut handle = store.clone();

    let report = run_import(&mut handle, &client(&github), &options(&gist, "doc")).unwrap();

    assert_eq!(report.imported, 1);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].file_name, "a.json");
    assert!(
        report.skipped[0].reason.contains("refused by the database"),
        "{}",
        report.skipped[0].reason
    );
    assert!(
        report.skipped[0].reason.contains("not later than"),
        "{}",
        report.skipped[0].reason
    );
    assert_eq!(store.versions("doc", "a").len(), 1);
    assert_eq!(store.versions("doc", "b").len(), 1);
}

#[test]
fn files_are_mapped_with_the_targets_template() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[
        ("ev-1.json", r#"{"n": 1}"#),
        ("ev-a.b.json", r#"{"n": 2}"#),
        // Would be entity "2" by the default rule, but the template says otherwise.
        ("event.2.json", r#"{"n": 3}"#),
        ("README.md", "events"),
    ]);
    let mut store = MemoryStore::new();
    store.add_target("event", &gist, "ev-{entity_id}.json", Mode::EveryVersion);
    // Disabled or not, the target still names the files.
    store.disable_target("event");

    let report = run_import(&mut store, &client(&github), &options(&gist, "event")).unwrap();

    assert_eq!(report.template.as_deref(), Some("ev-{entity_id}.json"));
    assert_eq!(report.imported, 2);
    let mut ids = store.entity_ids("event");
    ids.sort();
    assert_eq!(ids, ["1", "a.b"]);
    let mut skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.file_name.as_str(), s.reason.as_str()))
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            (
                "README.md",
                "does not match the file name template \"ev-{entity_id}.json\" of event"
            ),
            (
                "event.2.json",
                "does not match the file name template \"ev-{entity_id}.json\" of event"
            ),
        ]
    );
}

#[test]
fn without_a_target_the_default_rule_applies() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("order.7.json", "{}"), ("8.json", "[]")]);
    let mut store = MemoryStore::new();
    // A target of another type changes nothing for this one.
    store.add_target("other", &gist, "x-{entity_id}.json", Mode::Latest);

    let report = run_import(&mut store, &client(&github), &options(&gist, "order")).unwrap();

    assert_eq!(report.template, None);
    let mut ids = store.entity_ids("order");
    ids.sort();
    assert_eq!(ids, ["7", "8"]);
}
