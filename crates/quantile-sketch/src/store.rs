//! Dense bucket counts for one sign.

use crate::MAX_BUCKETS;

/// A dense window of bucket counters.
///
/// `counts[n]` is the count of bucket `offset + n`. The window may extend
/// beyond the occupied range `[lo, hi]` (slack for growth), but `lo` and `hi`
/// are always the first and last non-empty buckets: the budget and the
/// encoding are defined on them, so they must not depend on history.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    counts: Vec<u64>,
    offset: i64,
    lo: i64,
    hi: i64,
    total: u64,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            counts: Vec::new(),
            offset: 0,
            // lo > hi: the range check in `try_increment` fails when empty.
            lo: 1,
            hi: 0,
            total: 0,
        }
    }
}

impl PartialEq for Store {
    fn eq(&self, other: &Self) -> bool {
        self.total == other.total && self.occupied() == other.occupied()
    }
}

impl Eq for Store {}

impl Store {
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// First and last non-empty bucket (only meaningful when non-empty).
    pub(crate) fn range(&self) -> (i64, i64) {
        (self.lo, self.hi)
    }

    /// `(first index, counts from lo to hi)`; empty slice when empty.
    pub(crate) fn occupied(&self) -> (i64, &[u64]) {
        if self.is_empty() {
            return (0, &[]);
        }
        let start = (self.lo - self.offset) as usize;
        let end = (self.hi - self.offset) as usize;
        (self.lo, &self.counts[start..=end])
    }

    pub(crate) fn count_at(&self, idx: i64) -> u64 {
        if self.is_empty() || idx < self.lo || idx > self.hi {
            0
        } else {
            self.counts[(idx - self.offset) as usize]
        }
    }

    /// Number of buckets from first to last non-empty one, after collapsing
    /// by `shift` levels.
    pub(crate) fn span(&self, shift: u32) -> u64 {
        if self.is_empty() {
            0
        } else {
            ((self.hi >> shift) - (self.lo >> shift) + 1) as u64
        }
    }

    /// Span after collapsing by `shift` levels if `[lo, hi]` (at the
    /// current level) were also occupied.
    pub(crate) fn span_with(&self, lo: i64, hi: i64, shift: u32) -> u64 {
        let (a, b) = if self.is_empty() {
            (lo, hi)
        } else {
            (self.lo.min(lo), self.hi.max(hi))
        };
        ((b >> shift) - (a >> shift) + 1) as u64
    }

    /// The hot path of `add`: succeeds only inside the occupied range,
    /// where neither the budget nor the window can change.
    #[inline(always)]
    pub(crate) fn try_increment(&mut self, idx: i64) -> bool {
        if idx >= self.lo && idx <= self.hi {
            self.counts[(idx - self.offset) as usize] += 1;
            self.total += 1;
            true
        } else {
            false
        }
    }

    /// Adds `n > 0` to bucket `idx`, growing the window if needed. The caller
    /// has already checked the bucket budget.
    pub(crate) fn insert(&mut self, idx: i64, n: u64) {
        self.reserve_range(idx, idx);
        self.counts[(idx - self.offset) as usize] += n;
        if self.is_empty() {
            self.lo = idx;
            self.hi = idx;
        } else {
            self.lo = self.lo.min(idx);
            self.hi = self.hi.max(idx);
        }
        self.total += n;
    }

    /// Makes the window cover `[a, b]` together with the occupied range.
    fn reserve_range(&mut self, a: i64, b: i64) {
        let end = self.offset + self.counts.len() as i64; // exclusive
        if !self.counts.is_empty() && a >= self.offset && b < end {
            return;
        }
        let (new_lo, new_hi) = if self.is_empty() {
            (a, b)
        } else {
            (self.lo.min(a), self.hi.max(b))
        };
        let needed = (new_hi - new_lo + 1) as usize;
        // Geometric growth keeps repeated edge extensions amortised O(1);
        // the cap keeps memory proportional to the budget.
        let len = needed.max((self.counts.len() * 2).min(MAX_BUCKETS)).max(8);
        let slack = (len - needed) as i64;
        // Put the room on the side that is growing (both when unknown).
        let grows_down = !self.is_empty() && new_lo < self.lo;
        let grows_up = !self.is_empty() && new_hi > self.hi;
        let new_offset = match (grows_down, grows_up) {
            (true, false) => new_lo - slack,
            (false, true) => new_lo,
            _ => new_lo - slack / 2,
        };
        let mut counts = vec![0u64; len];
        if !self.is_empty() {
            let (first, occupied) = self.occupied();
            let start = (first - new_offset) as usize;
            counts[start..start + occupied.len()].copy_from_slice(occupied);
        }
        self.counts = counts;
        self.offset = new_offset;
    }

    /// Removes one from bucket `idx`; `false` (and no change) if it is empty.
    pub(crate) fn decrement(&mut self, idx: i64) -> bool {
        if self.count_at(idx) == 0 {
            return false;
        }
        self.counts[(idx - self.offset) as usize] -= 1;
        self.total -= 1;
        if self.total == 0 {
            *self = Store::default();
            return true;
        }
        while self.counts[(self.lo - self.offset) as usize] == 0 {
            self.lo += 1;
        }
        while self.counts[(self.hi - self.offset) as usize] == 0 {
            self.hi -= 1;
        }
        true
    }

    /// Collapses by `shift` levels: bucket `i` becomes `i >> shift`.
    pub(crate) fn collapse(&mut self, shift: u32) {
        if shift == 0 || self.is_empty() {
            return;
        }
        let (lo, hi) = (self.lo >> shift, self.hi >> shift);
        let mut counts = vec![0u64; (hi - lo + 1) as usize];
        let (first, occupied) = self.occupied();
        for (n, &c) in occupied.iter().enumerate() {
            counts[(((first + n as i64) >> shift) - lo) as usize] += c;
        }
        self.counts = counts;
        self.offset = lo;
        self.lo = lo;
        self.hi = hi;
    }

    /// Adds every bucket of `other`, collapsed by `shift` levels. The caller
    /// has already checked the budget for the union.
    pub(crate) fn merge_from(&mut self, other: &Store, shift: u32) {
        if other.is_empty() {
            return;
        }
        let (a, b) = (other.lo >> shift, other.hi >> shift);
        self.reserve_range(a, b);
        let (first, occupied) = other.occupied();
        for (n, &c) in occupied.iter().enumerate() {
            self.counts[(((first + n as i64) >> shift) - self.offset) as usize] += c;
        }
        if self.is_empty() {
            self.lo = a;
            self.hi = b;
        } else {
            self.lo = self.lo.min(a);
            self.hi = self.hi.max(b);
        }
        self.total += other.total;
    }

    /// Builds a store from decoded buckets (validated by the caller: the
    /// first and last counts are non-zero and the total does not overflow).
    pub(crate) fn from_counts(first: i64, counts: Vec<u64>, total: u64) -> Store {
        if counts.is_empty() {
            return Store::default();
        }
        Store {
            offset: first,
            lo: first,
            hi: first + counts.len() as i64 - 1,
            counts,
            total,
        }
    }
}
