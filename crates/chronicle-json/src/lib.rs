//! JSON tools for pg_chronicle: canonical form and checksums, RFC 7396
//! merge patch, RFC 6902 JSON Patch (diff and apply), exact equality, a
//! depth-limited parser, and the redaction of secrets.
//!
//! The same code runs inside the PostgreSQL backend and in the command-line
//! tool that compares database states with copies kept in GitHub Gists, so
//! both compute identical checksums for semantically equal JSON, however it
//! is formatted. Nothing here panics on user input or recurses without
//! bound (see [Stack safety](#stack-safety)).
//!
//! # Canonical JSON
//!
//! [`canonical_string`] writes a value as follows; [`checksum`] is the
//! lowercase hexadecimal SHA-256 of those UTF-8 bytes. The rules are chosen
//! so that another implementation can reproduce them byte for byte.
//!
//! 1. **No insignificant whitespace**: nothing between tokens.
//! 2. **Literals**: `null`, `true`, `false`.
//! 3. **Objects**: members sorted by key, comparing the keys' UTF-8 bytes
//!    (unsigned, lexicographically; a key that is a prefix of another comes
//!    first). Keys are unique; when parsing text with duplicate keys the
//!    last occurrence wins, as in PostgreSQL `jsonb`. Written as
//!    `{"k":v,"k2":v2}`.
//! 4. **Arrays**: elements in order, `[a,b]`.
//! 5. **Strings** (values and keys): `"` becomes `\"`, `\` becomes `\\`;
//!    U+0008, U+0009, U+000A, U+000C, U+000D become `\b`, `\t`, `\n`, `\f`,
//!    `\r`; the other characters below U+0020 become `\u00XX` with
//!    lowercase hex digits (`\u001f`). Every other character, including
//!    `/`, U+007F, non-ASCII characters and U+2028/U+2029, is written as
//!    its literal UTF-8 bytes.
//! 6. **Numbers** are normalized by exact decimal value (arbitrary
//!    precision, never via binary floating point):
//!    * every zero (`0`, `-0`, `0.0e5`) is `0`;
//!    * otherwise write the value as `±0.D × 10^p`, where the digit string
//!      `D = d1…dk` has no leading or trailing zeros (`k ≥ 1`), and choose
//!      the layout of ECMAScript's `Number.prototype.toString`:
//!      - `k ≤ p ≤ 21`: the digits followed by `p − k` zeros
//!        (`1.5e3` → `1500`, `1e20` → `100000000000000000000`);
//!      - `0 < p < k` (so `p ≤ 21`): the first `p` digits, `.`, the rest
//!        (`10.50` → `10.5`);
//!      - `−6 < p ≤ 0`: `0.`, then `−p` zeros, then the digits
//!        (`0.000001` → `0.000001`, `5e-1` → `0.5`);
//!      - otherwise scientific: `d1`, then `.` and `d2…dk` if `k > 1`, then
//!        `e`, the sign `+` or `-` (always present), and `|p − 1|` in decimal
//!        without leading zeros (`1e21` → `1e+21`, `1e-7` → `1e-7`,
//!        `123456789012345678901234567890` → `1.2345678901234567890123456789e+29`);
//!    * a negative value gets a leading `-`.
//!
//!    For any number whose text is the shortest round-trip form of an IEEE
//!    double this matches JavaScript's `String(x)`; unlike JavaScript every
//!    digit is kept, so the form is exact for any precision and magnitude.
//!
//! Consequently `canonical_string(a) == canonical_string(b)` exactly when
//! [`json_equal`]`(a, b)`. Compared with RFC 8785 (JCS), which has the same
//! spirit, keys are ordered by UTF-8 bytes rather than UTF-16 code units,
//! control characters use lowercase hex, and numbers are exact decimals
//! rather than doubles.
//!
//! # Stack safety
//!
//! PostgreSQL allows `jsonb` nested thousands of levels deep, while
//! serde_json's parser, `Clone`, `PartialEq`, serializer and `Drop` all
//! recurse once per level. This crate therefore:
//! * parses with its own iterative parser ([`parse`]) that rejects nesting
//!   deeper than [`MAX_DEPTH`] (arrays and objects; scalars do not count)
//!   before building it, with a clean [`JsonError::TooDeep`];
//! * implements every function, including the copies they make, with
//!   explicit work lists instead of recursion. What recursion remains is
//!   serde_json's `Drop`: of the caller's values, and of subtrees that a
//!   merge or patch replaces;
//! * bounds what [`apply_patch`] may build ([`MAX_DEPTH`],
//!   [`MAX_COPIED_VALUES`]).
//!
//! Canonicalization, checksums, equality, depth and diff work on values of
//! any depth. Stack needed at depth [`MAX_DEPTH`] (measured; nested
//! objects and arrays alternating): under 16 KiB for every function here,
//! plus dropping a value: 512 KiB unoptimized, 256 KiB optimized. For
//! comparison serde_json's `Clone` needs 1.5 MiB unoptimized and `to_string`
//! 1 MiB, so prefer [`json_equal`] to `==` and avoid cloning deep values.
//! The tests run depth-[`MAX_DEPTH`] documents through every function on a
//! thread with a 2 MiB stack in a debug build; a PostgreSQL backend's main
//! thread usually has 8 MiB.
//!
//! # Sizes of derived text
//!
//! Text derived from a document can be hundreds of times larger than the
//! document: nesting multiplies the indentation of every leaf in pretty
//! output, and the path of every operation in a JSON Patch. [`pretty_len`]
//! and [`canonical_len`] give exact lengths without writing anything, and
//! [`diff_bounded`] stops building a patch once it passes a limit, so
//! callers refuse such output instead of failing to allocate it.
//!
//! # Numbers need `arbitrary_precision`
//!
//! This crate enables serde_json's `arbitrary_precision` feature, so a
//! `serde_json::Number` holds its exact JSON text. Values built by other
//! crates in the same build share that feature.

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod canonical;
mod diff;
mod error;
mod merge;
mod number;
mod parse;
mod patch;
mod pointer;
mod redact;
mod size;
mod value;

pub use canonical::{
    canonical_bytes, canonical_string, checksum, checksum_of_canonical, write_canonical,
};
pub use diff::{diff, diff_bounded};
pub use error::{JsonError, PatchError};
pub use merge::merge_patch;
pub use parse::parse;
pub use patch::apply_patch;
pub use redact::{Redactor, DEFAULT_REDACT_KEYS, REDACTED};
pub use serde_json::Value;
pub use size::{canonical_len, pretty_len};
pub use value::{depth, json_equal};

/// The deepest nesting of arrays/objects accepted by [`parse`] and
/// [`apply_patch`] (`[[1]]` has depth 2).
///
/// 1000 is far beyond what real state documents use, yet keeps the
/// recursion in serde_json's `Drop` (a few hundred bytes of stack per level)
/// well below a megabyte.
pub const MAX_DEPTH: usize = 1000;

/// The most values that the `copy` operations of one JSON Patch may
/// duplicate together. Without a bound, a few dozen operations copying the
/// document into itself would need more memory than exists.
pub const MAX_COPIED_VALUES: usize = 1_000_000;
