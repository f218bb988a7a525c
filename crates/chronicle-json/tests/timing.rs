//! Rough timings for the per-row trigger path. Ignored by default; run with
//! `cargo test --release -p chronicle-json --test timing -- --ignored --nocapture`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chronicle_json::{apply_patch, canonical_bytes, checksum, diff, parse, Value};

/// A state document of about 1 KB, shaped like typical application state.
fn sample_document() -> Value {
    let text = r#"{
        "id": "8c1f3e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b",
        "version": 42, "status": "active", "owner": "alice@example.com",
        "created_at": "2024-05-01T12:34:56Z", "updated_at": "2024-06-01T08:00:00.123Z",
        "settings": {"theme": "dark", "language": "en-GB", "notifications": {"email": true, "sms": false, "push": true},
                     "limits": {"daily": 1000, "monthly": 25000.50, "ratio": 0.75}},
        "tags": ["alpha", "beta", "gamma", "delta", "production", "eu-west-1"],
        "counters": [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987],
        "history": [
            {"at": "2024-05-02T10:00:00Z", "by": "bob", "action": "created", "note": "initial import"},
            {"at": "2024-05-10T11:30:00Z", "by": "carol", "action": "updated", "note": "changed limits \"daily\""},
            {"at": "2024-05-20T09:15:00Z", "by": "alice", "action": "approved", "note": "looks good ✓"}
        ],
        "description": "Customer workspace used by the EU operations team; limits were raised after the May review. Contact the owner before changing billing or notification settings.",
        "metadata": {"source": "api", "region": "eu", "score": 98.6, "flags": null, "checksum": "deadbeef"}
    }"#;
    parse(text).unwrap()
}

fn per_call(iterations: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..iterations / 10 {
        f(); // warm-up
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed() / iterations
}

#[test]
#[ignore = "timing; run explicitly in release mode"]
fn checksum_of_a_1kb_document() {
    let doc = sample_document();
    let canonical = canonical_bytes(&doc);
    let text = serde_json::to_string_pretty(&doc).unwrap();
    assert!(
        (900..1400).contains(&canonical.len()),
        "{} bytes",
        canonical.len()
    );

    let mut changed = doc.clone();
    changed["settings"]["limits"]["daily"] = 2000.into();
    changed["tags"].as_array_mut().unwrap().push("new".into());
    let patch = diff(&doc, &changed);

    let canonical_time = per_call(100_000, || {
        black_box(canonical_bytes(black_box(&doc)));
    });
    let checksum_time = per_call(100_000, || {
        black_box(checksum(black_box(&doc)));
    });
    let parse_time = per_call(20_000, || {
        black_box(parse(black_box(&text)).unwrap());
    });
    let diff_time = per_call(20_000, || {
        black_box(diff(black_box(&doc), black_box(&changed)));
    });
    let apply_time = per_call(20_000, || {
        black_box(apply_patch(black_box(&doc), black_box(&patch)).unwrap());
    });
    println!("document: {} canonical bytes", canonical.len());
    println!("canonical form: {canonical_time:?}");
    println!("checksum (canonical form + SHA-256): {checksum_time:?}");
    println!("parse: {parse_time:?}");
    println!("diff (2 changes): {diff_time:?}");
    println!("apply_patch (2 operations): {apply_time:?}");

    if !cfg!(debug_assertions) {
        // Generous bound so that a loaded CI machine does not flake; the
        // typical figure is a few microseconds.
        assert!(
            checksum_time < Duration::from_micros(50),
            "{checksum_time:?}"
        );
    }
}
