//! Drains N queued exports against the fake Gist API and reports requests
//! sent and elapsed time, for both modes.
//!
//! cargo run --release -p chronicle-gist-testkit --bin export_bench -- [ROWS] [FILES] [BATCH]

use chronicle_gist::Mode;
use chronicle_gist_testkit::bench::bench_fake_export;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are numbers: ROWS FILES BATCH"))
        .collect();
    let rows = args.first().copied().unwrap_or(1000);
    let files = args.get(1).copied().unwrap_or(10);
    let batch = args.get(2).copied().unwrap_or(10) as u32;
    for mode in [Mode::Latest, Mode::EveryVersion] {
        println!("{}", bench_fake_export(rows, files, mode, batch));
    }
}
