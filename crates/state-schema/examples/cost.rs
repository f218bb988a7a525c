// Per-call cost of validating the benchmark's 1 kB, 30-property document (release build):
//   cargo run --release -p state-schema --example cost
use state_schema::CompiledSchema;
use std::time::Instant;

fn main() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../bench/sql/config_schema.json")).unwrap();
    let doc = serde_json::json!({"name": "service-1", "version": "1.4.2", "enabled": true, "max_parallel": 8,
        "timeout_ms": 30000, "retries": 3, "region": "eu-central", "owner": "platform-team", "team": "infrastructure",
        "description": "A configuration document of realistic size. ".repeat(9), "priority": 2, "cpu_limit": 2.5,
        "memory_mb": 2048, "log_level": "info", "tags": ["prod", "critical", "batch"], "created_by": "deploy-bot",
        "environment": "prod", "cache_ttl_s": 300, "batch_size": 500, "queue": "default",
        "endpoint": "https://api.example.com/v1/jobs", "rate_limit": 412.5, "dry_run": false, "notify": true,
        "channel": "#alerts", "threshold": 0.42, "window_s": 3600, "labels": {"cost-center": "eng", "tier": "gold"},
        "schedule": "*/5 * * * *", "checksum": "0a1b2c3d"});
    let compiled = CompiledSchema::compile(&schema).unwrap();
    assert!(compiled.is_valid(&doc).unwrap());
    let n = 200_000;
    let started = Instant::now();
    for _ in 0..n {
        assert!(compiled.is_valid(&doc).unwrap());
    }
    println!(
        "is_valid: {:.2} µs per call",
        started.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
