//! The fake Gist API as a process of its own, for shell scripts that drive
//! the `chronicle-gist` binary (tests/integration/gist_e2e.sh,
//! bench/workloads/gist.sh).
//!
//! ```text
//! fake_github [--gist ID]... [--slow-patch N:MS]... [--usr1-delay-ms MS]
//!             [--latency-ms MS] [--threads N]
//! ```
//!
//! * `--gist ID`: a gist with this id (and a README.md) exists from the start;
//! * `--slow-patch N:MS`: the N-th PATCH request (counting from 1) is held
//!   MS milliseconds before it is applied and answered;
//! * `--usr1-delay-ms MS`: each SIGUSR1 makes the next PATCH request that
//!   arrives take MS milliseconds (default 3000); the fake logs
//!   `fake-github: armed` once it will;
//! * `--latency-ms MS`: every API request takes MS milliseconds;
//! * `--threads N`: answer up to N requests at once (default 1).
//!
//! Prints its base URL as the first line of stdout, then logs each request
//! as it arrives on stderr (`fake-github: PATCH #3 /gists/ID`). The token
//! is `fake-github-token`. On SIGTERM or SIGINT it prints, on stdout, one
//! summary line per gist and exits:
//!
//! ```text
//! gist ID requests 12 patches 10 revisions 11
//! ```
//!
//! (`requests`: API requests naming the gist; `patches`: PATCH requests,
//! whatever their answer; `revisions`: the gist's revisions, the first one,
//! made at creation, included.)

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chronicle_gist_testkit::fake_github::{FakeGithub, Scripted};

struct Options {
    gists: Vec<String>,
    slow_patches: Vec<(usize, u64)>,
    usr1_delay_ms: u64,
    latency_ms: u64,
    threads: usize,
}

fn usage(problem: &str) -> ! {
    eprintln!("fake_github: {problem}");
    eprintln!(
        "usage: fake_github [--gist ID]... [--slow-patch N:MS]... [--usr1-delay-ms MS] [--latency-ms MS] [--threads N]"
    );
    std::process::exit(2);
}

fn parse_options() -> Options {
    let mut options = Options {
        gists: Vec::new(),
        slow_patches: Vec::new(),
        usr1_delay_ms: 3000,
        latency_ms: 0,
        threads: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            usage(&format!("{flag} needs a value"))
        };
        let number = |text: &str| -> u64 {
            text.parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: {text:?} is not a number")))
        };
        match flag.as_str() {
            "--gist" => options.gists.push(value),
            "--slow-patch" => {
                let Some((n, ms)) = value.split_once(':') else {
                    usage("--slow-patch takes N:MS")
                };
                let n = number(n) as usize;
                if n == 0 {
                    usage("--slow-patch counts PATCH requests from 1");
                }
                options.slow_patches.push((n, number(ms)));
            }
            "--usr1-delay-ms" => options.usr1_delay_ms = number(&value),
            "--latency-ms" => options.latency_ms = number(&value),
            "--threads" => options.threads = number(&value).max(1) as usize,
            _ => usage(&format!("unknown option {flag}")),
        }
    }
    options.slow_patches.sort_unstable();
    options.slow_patches.dedup_by_key(|(n, _)| *n);
    options
}

fn main() {
    let options = parse_options();
    let github = FakeGithub::start_with_threads(options.threads);
    for gist in &options.gists {
        github.create_gist_with_id(gist, &[("README.md", "Exported by chronicle-gist.\n")]);
    }
    github.set_latency(Duration::from_millis(options.latency_ms));
    // The scripted delays are taken by PATCH requests in order: fill the
    // gaps before each slow one with zero delays.
    let mut next = 1;
    for (n, ms) in &options.slow_patches {
        if *n > next {
            github.script(Some("PATCH"), n - next, Scripted::Delay(Duration::ZERO));
        }
        github.script(
            Some("PATCH"),
            1,
            Scripted::Delay(Duration::from_millis(*ms)),
        );
        next = n + 1;
    }
    let patches = AtomicUsize::new(0);
    github.on_request(move |request| {
        let what = if request.method == "PATCH" {
            format!("PATCH #{}", patches.fetch_add(1, Ordering::SeqCst) + 1)
        } else {
            request.method.clone()
        };
        eprintln!("fake-github: {what} {}", request.path);
    });

    let stop = Arc::new(AtomicBool::new(false));
    let arm = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).expect("installing signal handlers");
    }
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&arm))
        .expect("installing signal handlers");
    println!("{}", github.url());
    std::io::stdout().flush().expect("writing the URL");

    while !stop.load(Ordering::SeqCst) {
        if arm.swap(false, Ordering::SeqCst) {
            // Ahead of any zero-delay fillers still queued for --slow-patch.
            github.script_first(
                Some("PATCH"),
                Scripted::Delay(Duration::from_millis(options.usr1_delay_ms)),
            );
            eprintln!("fake-github: armed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let requests = github.requests();
    let mut out = std::io::stdout().lock();
    for gist in &options.gists {
        let of_gist = requests
            .iter()
            .filter(|r| r.gist_id() == Some(gist.as_str()));
        let patches = of_gist.clone().filter(|r| r.method == "PATCH").count();
        let _ = writeln!(
            out,
            "gist {gist} requests {} patches {patches} revisions {}",
            of_gist.count(),
            github.revision_count(gist)
        );
    }
    let _ = out.flush();
}
