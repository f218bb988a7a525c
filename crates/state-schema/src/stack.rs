//! The stack validation runs on: [`VALIDATION_STACK_BYTES`] of address space mapped once
//! per thread (a backend is one thread), with a guard page below it, and switched to for
//! each validation with `psm`.
//!
//! Mapping a fresh stack per call (as `stacker::grow` does) cost 14 µs per validation,
//! eight times the 1.7 µs of validating a 1 kB, 30-property state (measured in release
//! with `cargo run --release -p state-schema --example cost`): the mmap, the munmap and a
//! page fault for every page touched. Kept mapped, the pages a shallow validation touches
//! stay warm. What a deep one may have touched beyond the top [`KEPT_WARM`] bytes is handed
//! back to the kernel after it (madvise), so no backend keeps a deep validation's memory.

use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::VALIDATION_STACK_BYTES;

/// Bytes at the top of the stack that stay resident between validations.
const KEPT_WARM: usize = 1024 * 1024;
/// Stack a validation may use per level of nesting (the bound `VALIDATION_STACK_BYTES` is
/// sized with).
const BYTES_PER_LEVEL: usize = VALIDATION_STACK_BYTES / crate::MAX_VALIDATION_DEPTH;

struct Mapping {
    /// Lowest usable address (just above the guard page).
    base: *mut u8,
    page: usize,
}

thread_local! {
    static MAPPING: Cell<Option<*mut u8>> = const { Cell::new(None) };
    static ON_IT: Cell<bool> = const { Cell::new(false) };
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as usize
    } else {
        4096
    }
}

fn mapping() -> Mapping {
    let page = page_size();
    if let Some(base) = MAPPING.with(Cell::get) {
        return Mapping { base, page };
    }
    let total = VALIDATION_STACK_BYTES + page;
    // SAFETY: an anonymous private mapping; checked for failure; never unmapped (it lives
    // as long as the thread's process, like a thread's own stack).
    let start = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
            -1,
            0,
        )
    };
    assert!(
        start != libc::MAP_FAILED,
        "could not map the {VALIDATION_STACK_BYTES}-byte validation stack"
    );
    // SAFETY: the first page of the mapping becomes the guard page.
    let guarded = unsafe { libc::mprotect(start, page, libc::PROT_NONE) };
    assert!(
        guarded == 0,
        "could not protect the validation stack's guard page"
    );
    let base = unsafe { (start as *mut u8).add(page) };
    MAPPING.with(|mapping| mapping.set(Some(base)));
    Mapping { base, page }
}

/// Runs `f`, which nests at most `levels` deep, on the validation stack (or directly, when
/// already on it). A panic in `f` is carried across the switch and resumed on the
/// caller's stack.
pub(crate) fn on_validation_stack<R>(levels: usize, f: impl FnOnce() -> R) -> R {
    if ON_IT.with(Cell::get) {
        return f();
    }
    let Mapping { base, page } = mapping();
    ON_IT.with(|on| on.set(true));
    let mut outcome = None;
    // SAFETY: base is page-aligned and the size a multiple of the page size; the callback
    // catches every unwind, so none crosses the switch.
    unsafe {
        psm::on_stack(base, VALIDATION_STACK_BYTES, || {
            outcome = Some(catch_unwind(AssertUnwindSafe(f)));
        });
    }
    ON_IT.with(|on| on.set(false));
    // Give back whatever a deep validation touched below the warm top (a shallow one cannot
    // have reached it: skipping the call saves 2 µs).
    if levels.saturating_mul(BYTES_PER_LEVEL) > KEPT_WARM {
        let cold = VALIDATION_STACK_BYTES - KEPT_WARM;
        let cold = cold - cold % page;
        // SAFETY: the range lies inside the mapping and nothing runs on it now.
        unsafe { libc::madvise(base.cast(), cold, libc::MADV_DONTNEED) };
    }
    match outcome.expect("the callback ran") {
        Ok(value) => value,
        Err(panic) => resume_unwind(panic),
    }
}
