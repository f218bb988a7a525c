//! The export loop against the fake Gist API and the in-memory queue.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use chronicle_gist::export::{ExportConfig, ExportError, Exporter};
use chronicle_gist::{Mode, Queue};
use chronicle_gist_testkit::fake_github::{FakeGithub, Scripted};
use chronicle_gist_testkit::memory::{MemoryQueue, NewExport, QueueEvent, RowStatus};
use common::{client, drain, drain_config, pretty};

#[test]
fn export_sends_content_and_acks_with_the_revision_github_returns() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "orders")]);
    let queue = MemoryQueue::new();
    let a = pretty(r#"{"id": 1, "total": 9.5}"#);
    let b = pretty(r#"{"id": 2, "items": ["x", "y"]}"#);
    queue.enqueue(NewExport::write(&gist, "order.1.json", &a, Mode::Latest, 1));
    queue.enqueue(NewExport::write(&gist, "order.2.json", &b, Mode::Latest, 1));

    let (result, report) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    assert_eq!(
        github.file(&gist, "order.1.json").as_deref(),
        Some(a.as_str())
    );
    assert_eq!(
        github.file(&gist, "order.2.json").as_deref(),
        Some(b.as_str())
    );
    assert_eq!(github.file(&gist, "README.md").as_deref(), Some("orders"));
    let head = github.revisions(&gist).last().unwrap().version.clone();
    assert_eq!(head.len(), 40);
    assert_eq!(queue.acks(), vec![(1, head.clone()), (2, head)]);
    assert_eq!(report.acked, 2);
    assert_eq!(report.failed, 0);
    assert_eq!(queue.unfinished(), 0);
    // The request was authenticated the way GitHub asks.
    let patch = &github.successful_patches(&gist)[0];
    assert_eq!(
        patch.authorization.as_deref(),
        Some(format!("Bearer {}", FakeGithub::TOKEN).as_str())
    );
}

#[test]
fn removal_sends_the_file_as_null() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", "{}"), ("b.json", "[]")]);
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::remove(&gist, "a.json", Mode::Latest, 2));

    let (result, _) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    let patch = &github.successful_patches(&gist)[0];
    let body: serde_json::Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(body["files"]["a.json"], serde_json::Value::Null);
    assert!(body["files"].as_object().unwrap().contains_key("a.json"));
    assert_eq!(github.file(&gist, "a.json"), None);
    assert_eq!(github.file(&gist, "b.json").as_deref(), Some("[]"));
    let revisions = github.revisions(&gist);
    assert_eq!(revisions.len(), 2);
    assert_eq!(queue.acks(), vec![(1, revisions[1].version.clone())]);
}

#[test]
fn latest_mode_sends_several_files_of_a_gist_in_one_patch() {
    let github = FakeGithub::start();
    let one = github.create_gist(&[("README.md", "1")]);
    let two = github.create_gist(&[("README.md", "2")]);
    let queue = MemoryQueue::new();
    for i in 0..5 {
        let file = format!("doc{i}.json");
        queue.enqueue(NewExport::write(
            &one,
            &file,
            &format!("{{\"n\": {i}}}"),
            Mode::Latest,
            1,
        ));
    }
    queue.enqueue(NewExport::write(&two, "x.json", "{}", Mode::Latest, 1));
    queue.enqueue(NewExport::write(&two, "y.json", "{}", Mode::Latest, 1));

    let (result, report) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    assert_eq!(github.patch_count(&one), 1);
    assert_eq!(github.patch_count(&two), 1);
    assert_eq!(report.requests, 2);
    // One Gist revision per PATCH, and every row acked with it.
    assert_eq!(github.revisions(&one).len(), 2);
    let head_one = github.revisions(&one)[1].version.clone();
    let head_two = github.revisions(&two)[1].version.clone();
    let acks = queue.acks();
    assert_eq!(acks.len(), 7);
    assert!(
        acks[..5].iter().all(|(_, rev)| *rev == head_one),
        "{acks:?}"
    );
    assert!(
        acks[5..].iter().all(|(_, rev)| *rev == head_two),
        "{acks:?}"
    );
    assert_eq!(github.revisions(&one)[1].files.len(), 6);
}

#[test]
fn every_version_mode_sends_one_request_per_version() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "history")]);
    let queue = MemoryQueue::new();
    for version in 1..=3 {
        let content = format!("{{\"version\": {version}}}");
        queue.enqueue(NewExport::write(
            &gist,
            "a.json",
            &content,
            Mode::EveryVersion,
            version,
        ));
    }
    queue.enqueue(NewExport::write(
        &gist,
        "b.json",
        "{\"b\": true}",
        Mode::EveryVersion,
        1,
    ));

    let (result, report) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    assert_eq!(github.patch_count(&gist), 4);
    assert_eq!(report.requests, 4);
    let revisions = github.revisions(&gist);
    assert_eq!(revisions.len(), 5, "each version is its own Gist revision");
    // Each ack names the revision holding exactly that version.
    for (id, revision) in queue.acks() {
        let row = queue.row(id);
        let at = revisions.iter().find(|r| r.version == revision).unwrap();
        assert_eq!(
            at.files.get(&row.export.file_name),
            row.export.payload.as_ref()
        );
    }
    // a.json's versions became revisions in order.
    let a_versions: Vec<&str> = revisions
        .iter()
        .filter_map(|r| r.files.get("a.json").map(String::as_str))
        .collect();
    let mut distinct = a_versions.clone();
    distinct.dedup();
    assert_eq!(
        distinct,
        ["{\"version\": 1}", "{\"version\": 2}", "{\"version\": 3}"]
    );
}

#[test]
fn secondary_rate_limit_429_is_held_and_retried_after_retry_after() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    github.script(
        Some("PATCH"),
        2,
        Scripted::RateLimited {
            status: 429,
            retry_after: Some(1),
        },
    );
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::write(
        &gist,
        "a.json",
        "{\"a\": 1}",
        Mode::Latest,
        1,
    ));

    let (result, report) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    let patches: Vec<_> = github
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(
        patches.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 429, 200]
    );
    for pair in patches.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at).unwrap();
        assert!(
            gap >= Duration::from_secs(1),
            "sent again after {gap:?}, before Retry-After"
        );
    }
    // Held, not failed: the row kept its lease and was acked.
    assert_eq!(report.rate_limited, 2);
    assert!(queue.fails().is_empty());
    assert_eq!(queue.acks().len(), 1);
    assert_eq!(queue.row(1).attempt, 1);
}

#[test]
fn primary_rate_limit_403_waits_for_the_reset_time() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    github.set_rate_limit(60, 0, Duration::from_secs(2));
    let reset = github.rate_limit_reset();
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::write(&gist, "a.json", "{}", Mode::Latest, 1));

    let (result, report) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    let patches: Vec<_> = github
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(
        patches.iter().map(|r| r.status).collect::<Vec<_>>(),
        [403, 200]
    );
    let resent = patches[1].at.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(
        resent >= reset,
        "sent at {resent}, before X-RateLimit-Reset {reset}"
    );
    assert_eq!(report.rate_limited, 1);
    assert_eq!(queue.acks().len(), 1);
}

#[test]
fn nothing_is_sent_after_the_last_remaining_request_until_the_reset() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    // One request left in this window.
    github.set_rate_limit(60, 1, Duration::from_secs(2));
    let reset = github.rate_limit_reset();
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::write(
        &gist,
        "a.json",
        "{\"v\": 1}",
        Mode::EveryVersion,
        1,
    ));
    queue.enqueue(NewExport::write(
        &gist,
        "b.json",
        "{\"v\": 1}",
        Mode::EveryVersion,
        1,
    ));

    let (result, report) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    let patches: Vec<_> = github
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    // The client saw X-RateLimit-Remaining: 0 and waited instead of
    // provoking a 403.
    assert_eq!(
        patches.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 200]
    );
    let second = patches[1].at.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(second >= reset, "second PATCH at {second}, reset {reset}");
    assert_eq!(report.rate_limited, 0);
    assert_eq!(queue.acks().len(), 2);
}

#[test]
fn a_long_rate_limit_releases_the_rows_with_retry_after() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    github.script(
        Some("PATCH"),
        1,
        Scripted::RateLimited {
            status: 403,
            retry_after: Some(30),
        },
    );
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::write(
        &gist,
        "a.json",
        "{}",
        Mode::EveryVersion,
        1,
    ));
    queue.enqueue(NewExport::write(
        &gist,
        "b.json",
        "{}",
        Mode::EveryVersion,
        1,
    ));
    let config = ExportConfig {
        max_hold: Duration::from_secs(5),
        ..drain_config()
    };

    let started = Instant::now();
    let (result, report) = drain(&queue, &client(&github), config);

    result.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "must not sit out 30 s"
    );
    assert_eq!(
        github.patch_count(&gist),
        1,
        "nothing more sent during the wait"
    );
    // A rate limit is no delivery failure: both rows, the refused one and
    // the unsent one, are given back untried, claimable after the wait.
    assert!(queue.fails().is_empty(), "{:?}", queue.fails());
    assert_eq!(
        queue.releases(),
        vec![(1, Duration::from_secs(30)), (2, Duration::from_secs(30))]
    );
    assert_eq!(report.released, 2);
    assert!(report.exited_rate_limited);
    for id in [1, 2] {
        assert!(matches!(queue.row(id).status, RowStatus::Pending { .. }));
        assert_eq!(queue.row(id).attempt, 0, "the attempt does not count");
    }
}

#[test]
fn unauthorized_stops_the_exporter_after_giving_rows_back() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    let queue = MemoryQueue::new();
    for file in ["a.json", "b.json", "c.json"] {
        queue.enqueue(NewExport::write(&gist, file, "{}", Mode::EveryVersion, 1));
    }
    let bad = chronicle_gist::GithubClient::new(github.url(), Some("expired-token".into()));

    let (result, report) = drain(&queue, &bad, drain_config());

    let Err(ExportError::Unauthorized(message)) = result else {
        panic!("expected Unauthorized, got {result:?}");
    };
    assert!(message.contains("401 Bad credentials"), "{message}");
    assert!(message.contains("GITHUB_TOKEN"), "{message}");
    assert_eq!(github.patch_count(&gist), 1, "no request after the 401");
    // Not the rows' fault: all are given back at once, no attempt counted,
    // so a bad token cannot make rows go dead.
    assert!(queue.fails().is_empty(), "{:?}", queue.fails());
    assert_eq!(
        queue.releases(),
        vec![
            (1, Duration::ZERO),
            (2, Duration::ZERO),
            (3, Duration::ZERO)
        ]
    );
    assert_eq!(report.released, 3);
    assert_eq!(report.acked, 0);
    assert_eq!(queue.unfinished(), 3, "nothing lost");
    assert!(queue.rows().iter().all(|r| r.attempt == 0));
}

#[test]
fn unknown_gist_404_fails_the_row_with_the_api_message() {
    let github = FakeGithub::start();
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::write(
        "0123456789abcdef",
        "a.json",
        "{}",
        Mode::Latest,
        1,
    ));

    let (result, report) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    let fails = queue.fails();
    assert_eq!(fails.len(), 1);
    assert!(fails[0].1.contains("404 Not Found"), "{}", fails[0].1);
    assert_eq!(fails[0].2, None, "the database chooses the backoff");
    assert_eq!(report.failed, 1);
    assert_eq!(
        queue.row(1).last_error.as_deref(),
        Some(fails[0].1.as_str())
    );
}

#[test]
fn oversized_file_422_fails_only_that_row() {
    let github = FakeGithub::start();
    github.set_max_file_size(100);
    let gist = github.create_gist(&[("README.md", "x")]);
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::write(
        &gist,
        "a.json",
        "{\"a\": 1}",
        Mode::Latest,
        1,
    ));
    let big = format!("{{\"blob\": \"{}\"}}", "x".repeat(200));
    queue.enqueue(NewExport::write(&gist, "big.json", &big, Mode::Latest, 1));
    queue.enqueue(NewExport::write(
        &gist,
        "c.json",
        "{\"c\": 1}",
        Mode::Latest,
        1,
    ));

    let (result, report) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    // One combined PATCH refused, then the three files one by one.
    let statuses: Vec<u16> = github
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [422, 200, 422, 200]);
    let fails = queue.fails();
    assert_eq!(fails.len(), 1);
    assert_eq!(fails[0].0, 2);
    assert!(
        fails[0].1.contains("422 Validation Failed"),
        "{}",
        fails[0].1
    );
    assert!(fails[0].1.contains("too large"), "{}", fails[0].1);
    assert_eq!(
        queue.acks().iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        [1, 3]
    );
    assert_eq!(report.requests, 4);
    assert_eq!(github.file(&gist, "big.json"), None);
}

#[test]
fn invalid_file_name_422_fails_the_row() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::write(&gist, "dir/a.json", "{}", Mode::Latest, 1));

    let (result, _) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    let fails = queue.fails();
    assert_eq!(fails.len(), 1);
    assert!(
        fails[0].1.contains("422 Validation Failed"),
        "{}",
        fails[0].1
    );
    assert!(fails[0].1.contains("'/'"), "{}", fails[0].1);
}

#[test]
fn a_server_error_fails_the_row_and_the_retry_succeeds() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    github.script(
        Some("PATCH"),
        1,
        Scripted::Status {
            status: 500,
            message: "Server Error".into(),
        },
    );
    // Immediate retry, so the same drain picks the row up again.
    let queue = MemoryQueue::new().with_default_backoff(Duration::ZERO);
    queue.enqueue(NewExport::write(&gist, "a.json", "{}", Mode::Latest, 1));

    let (result, report) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    let fails = queue.fails();
    assert_eq!(fails.len(), 1);
    assert!(
        fails[0].1.contains("GitHub API 500 Server Error"),
        "{}",
        fails[0].1
    );
    assert_eq!(queue.acks().len(), 1);
    assert_eq!(queue.row(1).attempt, 2);
    assert_eq!(report.requests, 2);
}

#[test]
fn stop_during_a_request_finishes_it_and_releases_the_rest() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    let queue = MemoryQueue::new();
    for file in ["a.json", "b.json", "c.json"] {
        queue.enqueue(NewExport::write(&gist, file, "{}", Mode::EveryVersion, 1));
    }
    // SIGTERM arrives while the first PATCH is in flight: the handler only
    // sets the flag, which is what this hook does.
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    github.on_request(move |request| {
        if request.method == "PATCH" {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let client = client(&github);
    let config = ExportConfig {
        exit_when_idle: false,
        ..drain_config()
    };

    let mut exporter = Exporter::new(queue.clone(), &client, config, &stop);
    exporter.run().unwrap();

    assert!(exporter.report().stopped);
    assert_eq!(github.patch_count(&gist), 1);
    assert_eq!(
        queue.acks().len(),
        1,
        "the request in flight was finished and acked"
    );
    assert_eq!(queue.acks()[0].0, 1);
    assert!(queue.fails().is_empty());
    assert_eq!(
        queue.releases(),
        vec![(2, Duration::ZERO), (3, Duration::ZERO)]
    );
    assert_eq!(exporter.report().released, 2);
    assert!(matches!(queue.row(2).status, RowStatus::Pending { .. }));
    assert_eq!(queue.row(2).attempt, 0);
}

#[test]
fn a_stale_lease_is_reported_and_the_reclaimed_row_is_sent_again() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::write(
        &gist,
        "a.json",
        "{\"a\": 1}",
        Mode::Latest,
        1,
    ));
    // While the first PATCH is in flight, its lease expires and another
    // exporter claims the row (a new token).
    let other = queue.clone();
    let reclaimed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&reclaimed);
    github.on_request(move |request| {
        if request.method == "PATCH" && !flag.swap(true, Ordering::SeqCst) {
            other.expire_leases();
            let rows = other.clone().claim(10, Duration::from_secs(60)).unwrap();
            assert_eq!(rows.len(), 1);
        }
    });

    let (result, report) = drain(&queue, &client(&github), drain_config());

    result.unwrap();
    assert_eq!(report.stale_leases, 1);
    assert_eq!(report.acked, 0);
    assert!(queue.events().contains(&QueueEvent::StaleToken { id: 1 }));
    // The other exporter dies; once its lease expires the row is sent again.
    queue.expire_leases();
    let (result, report) = drain(&queue, &client(&github), drain_config());
    result.unwrap();
    assert_eq!(report.acked, 1);
    // The second send changed nothing, so GitHub made no new revision and
    // the ack names the revision of the first send.
    let revisions = github.revisions(&gist);
    assert_eq!(revisions.len(), 2);
    assert_eq!(queue.acks(), vec![(1, revisions[1].version.clone())]);
    assert_eq!(github.patch_count(&gist), 2);
}

#[test]
fn a_lease_that_expired_unclaimed_can_still_be_acked() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    // The PATCH takes longer than the lease, but nobody claims the row
    // meanwhile: the ack is accepted, as the database accepts it.
    github.script(
        Some("PATCH"),
        1,
        Scripted::Delay(Duration::from_millis(1200)),
    );
    let queue = MemoryQueue::new();
    queue.enqueue(NewExport::write(&gist, "a.json", "{}", Mode::Latest, 1));
    let config = ExportConfig {
        lease: Duration::from_secs(1),
        ..drain_config()
    };

    let (result, report) = drain(&queue, &client(&github), config);

    result.unwrap();
    assert_eq!((report.acked, report.stale_leases), (1, 0));
    assert_eq!(github.patch_count(&gist), 1);
}

#[test]
fn a_notification_wakes_the_waiting_exporter() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    let queue = MemoryQueue::new();
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let queue = queue.clone();
        let stop = Arc::clone(&stop);
        let gist = gist.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let enqueued = Instant::now();
            queue.enqueue(NewExport::write(&gist, "a.json", "{}", Mode::Latest, 1));
            let deadline = Instant::now() + Duration::from_secs(10);
            while queue.acks().is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            stop.store(true, Ordering::SeqCst);
            enqueued.elapsed()
        })
    };
    let client = client(&github);
    // Polling alone would take 30 s.
    let config = ExportConfig {
        exit_when_idle: false,
        poll_interval: Duration::from_secs(30),
        ..ExportConfig::default()
    };

    let mut exporter = Exporter::new(queue.clone(), &client, config, &stop);
    exporter.run().unwrap();
    let latency = producer.join().unwrap();

    assert_eq!(queue.acks().len(), 1);
    assert!(
        latency < Duration::from_secs(5),
        "took {latency:?}: the notification was not used"
    );
}

#[test]
fn requests_are_spaced_by_the_minimum_interval() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    let queue = MemoryQueue::new();
    for version in 1..=3 {
        let content = format!("{{\"v\": {version}}}");
        queue.enqueue(NewExport::write(
            &gist,
            "a.json",
            &content,
            Mode::EveryVersion,
            version,
        ));
    }
    let interval = Duration::from_millis(300);
    let config = ExportConfig {
        min_request_interval: interval,
        ..drain_config()
    };

    let (result, report) = drain(&queue, &client(&github), config);

    result.unwrap();
    assert_eq!(report.acked, 3);
    let patches = github.successful_patches(&gist);
    assert_eq!(patches.len(), 3);
    for pair in patches.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at).unwrap();
        // The fake stamps arrival; allow for the client's own timing.
        assert!(gap >= interval - Duration::from_millis(20), "gap {gap:?}");
    }
}

#[test]
fn spacing_that_would_outlast_the_lease_gives_the_rest_back() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("README.md", "x")]);
    let queue = MemoryQueue::new();
    for file in ["a.json", "b.json", "c.json"] {
        queue.enqueue(NewExport::write(&gist, file, "{}", Mode::EveryVersion, 1));
    }
    // A 1.5 s spacing does not fit in a 2 s lease with its margin, so after
    // the first request the other rows go back untried and are claimed
    // again, one per claim.
    let config = ExportConfig {
        lease: Duration::from_secs(2),
        min_request_interval: Duration::from_millis(1500),
        ..drain_config()
    };

    let (result, report) = drain(&queue, &client(&github), config);

    result.unwrap();
    assert_eq!(report.acked, 3);
    assert!(report.released >= 2, "{report}");
    assert!(queue.fails().is_empty());
    assert!(
        queue.rows().iter().all(|r| r.attempt == 1),
        "{:?}",
        queue.rows()
    );
    assert_eq!(report.stale_leases, 0);
}
