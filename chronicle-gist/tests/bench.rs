//! The benchmark helper drains a fake queue against the fake API.

use chronicle_gist::Mode;
use chronicle_gist_testkit::bench::bench_fake_export;

#[test]
fn bench_helper_reports_requests_and_time() {
    let latest = bench_fake_export(40, 8, Mode::Latest, 10);
    assert_eq!(latest.acked, 40);
    // Rows of 8 files, claimed at most 8 at a time (one per file): each
    // batch is one or two PATCHes in latest mode.
    assert!(latest.requests_sent < 40, "{latest}");
    assert!(latest.elapsed.as_nanos() > 0);

    let every = bench_fake_export(40, 8, Mode::EveryVersion, 10);
    assert_eq!(every.acked, 40);
    assert_eq!(every.requests_sent, 40, "{every}");
    assert_eq!(every.revisions, 40);
    assert!(every.to_string().contains("40 requests"));
}
