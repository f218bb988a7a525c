//! Errors. Their `Display` text is shown to end users verbatim (it becomes
//! the message of a PostgreSQL `ERROR`), so it names the offending input and
//! avoids Rust jargon.

use std::fmt;

use crate::{MAX_COPIED_VALUES, MAX_DEPTH};

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonError {
    /// The text is not valid JSON. `line` and `column` are 1-based; the
    /// column counts characters, not bytes.
    Syntax {
        line: usize,
        column: usize,
        message: &'static str,
    },
    /// A document is nested more than [`MAX_DEPTH`] arrays/objects deep.
    TooDeep,
    /// A JSON Patch document that is not an array.
    PatchNotArray,
    /// Operation `index` (0-based, as in the JSON Pointer `/index` into the
    /// patch) of a JSON Patch failed; the document is left unchanged.
    Patch { index: usize, error: PatchError },
    /// A derived document, such as the patch of [`crate::diff_bounded`], would be
    /// longer than `limit` bytes.
    TooLarge { limit: usize },
}

/// Why a single JSON Patch operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatchError {
    /// The operation is not a JSON object.
    NotAnObject,
    /// A member the operation requires (`op`, `path`, `from`, `value`) is absent.
    MissingMember(&'static str),
    /// `op`, `path` or `from` is present but not a string.
    NotAString(&'static str),
    UnknownOp(String),
    /// `pointer` is not a valid JSON Pointer (RFC 6901).
    InvalidPointer {
        pointer: String,
        reason: &'static str,
    },
    /// The location named by member `member` (`path` or `from`) does not exist.
    NotFound {
        member: &'static str,
        pointer: String,
    },
    /// `add` below a location that does not exist or is not a container.
    ParentNotFound {
        pointer: String,
    },
    /// An array was addressed with something other than a decimal index
    /// without leading zeros (or `-` when adding).
    InvalidIndex {
        pointer: String,
        token: String,
    },
    /// `add` at an array index greater than the array's length.
    IndexOutOfBounds {
        pointer: String,
        index: usize,
        len: usize,
    },
    RemoveRoot,
    MoveIntoChild {
        from: String,
        path: String,
    },
    TestFailed {
        pointer: String,
    },
    /// The result would be nested more than [`MAX_DEPTH`] levels deep.
    TooDeep,
    /// `copy` operations together would duplicate more than
    /// [`MAX_COPIED_VALUES`] values.
    TooLarge,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax {
                line,
                column,
                message,
            } => write!(f, "invalid JSON at line {line}, column {column}: {message}"),
            JsonError::TooDeep => {
                write!(f, "JSON value is nested more than {MAX_DEPTH} levels deep")
            }
            JsonError::PatchNotArray => f.write_str("JSON patch must be an array of operations"),
            JsonError::Patch { index, error } => write!(f, "patch operation {index}: {error}"),
            JsonError::TooLarge { limit } => write!(
                f,
                "the JSON patch between these documents would be longer than the limit of {limit} bytes"
            ),
        }
    }
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchError::NotAnObject => f.write_str("operation must be a JSON object"),
            PatchError::MissingMember(name) => write!(f, "missing \"{name}\" member"),
            PatchError::NotAString(name) => write!(f, "\"{name}\" member must be a string"),
            PatchError::UnknownOp(op) => write!(
                f,
                "unknown operation {}; expected add, remove, replace, move, copy or test",
                quoted(op)
            ),
            PatchError::InvalidPointer { pointer, reason } => {
                write!(f, "invalid JSON pointer {}: {reason}", quoted(pointer))
            }
            PatchError::NotFound { member, pointer } => {
                write!(f, "{member} {} does not exist", quoted(pointer))
            }
            PatchError::ParentNotFound { pointer } => write!(
                f,
                "cannot add at path {}: its parent does not exist or is not an object or array",
                quoted(pointer)
            ),
            PatchError::InvalidIndex { pointer, token } => write!(
                f,
                "invalid array index {} in path {}",
                quoted(token),
                quoted(pointer)
            ),
            PatchError::IndexOutOfBounds {
                pointer,
                index,
                len,
            } => write!(
                f,
                "array index {index} in path {} is out of bounds (the array has {len} elements)",
                quoted(pointer)
            ),
            PatchError::RemoveRoot => f.write_str("cannot remove the whole document"),
            PatchError::MoveIntoChild { from, path } => write!(
                f,
                "cannot move {} into its own child {}",
                quoted(from),
                quoted(path)
            ),
            PatchError::TestFailed { pointer } => write!(
                f,
                "test failed: the value at {} is not equal to the expected value",
                quoted(pointer)
            ),
            PatchError::TooDeep => write!(
                f,
                "the result would be nested more than {MAX_DEPTH} levels deep"
            ),
            PatchError::TooLarge => write!(
                f,
                "copy operations would duplicate more than {MAX_COPIED_VALUES} values"
            ),
        }
    }
}

/// User-supplied text quoted as a JSON string, so control characters and
/// quotes inside it cannot garble the message.
fn quoted(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len() + 2);
    crate::canonical::write_string(text, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

impl std::error::Error for JsonError {}
impl std::error::Error for PatchError {}
