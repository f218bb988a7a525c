//! SIGTERM/SIGINT only set the stop flag (the export loop does the rest;
//! see `stop_during_a_request_finishes_it_and_releases_the_rest`).
//! Its own test binary: it raises signals at its own process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chronicle_gist::cli::install_stop_handlers;

#[test]
fn sigterm_sets_the_stop_flag_instead_of_killing_the_process() {
    let stop = Arc::new(AtomicBool::new(false));
    install_stop_handlers(&stop).unwrap();
    assert!(!stop.load(Ordering::SeqCst));

    signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();

    // The handler runs synchronously for a signal raised by this thread.
    assert!(stop.load(Ordering::SeqCst));
    // Still alive: a second signal would exit with 130, which this test
    // cannot observe from inside, so it stops here.
}
