//! JSON Schema validation of pg_chronicle states, on the `jsonschema` crate, with the
//! bounds a database needs around it:
//!
//! - **Drafts.** 2020-12, the default, and draft 7 where a schema names it in `$schema`.
//!   Any other `$schema` is refused rather than guessed at.
//! - **Nothing fetched.** The validator is built offline: a `$ref` that is not inside
//!   the schema itself is an error when the schema is set, never a network request.
//! - **Linear-time patterns.** `pattern` and `patternProperties` use the `regex` crate
//!   (finite automata, no backtracking), with a size limit on each compiled pattern, so
//!   no pattern and input can take exponential time. Look-around and back-references are
//!   refused when the schema is set.
//! - **Bounded structure.** A schema is at most [`MAX_SCHEMA_BYTES`] of JSON text and
//!   nests at most [`MAX_SCHEMA_DEPTH`] levels, checked before the crate sees it.
//! - **A stack of its own.** Validation recurses once per schema keyword it applies, and
//!   `$ref` lets a schema apply itself again at every level of a state, so its depth is at
//!   most the schema's node count times the state's depth plus one. That product is
//!   capped at [`MAX_VALIDATION_DEPTH`] (a state past it is refused, not validated), and
//!   validation runs on a [`VALIDATION_STACK_BYTES`] stack of its own (mapped once per
//!   process, see `stack.rs`), which holds the cap with room to spare (measured: under
//!   1 KiB per level in a debug build; the tests run the worst case). A backend's own
//!   stack is never at risk.
//! - **Bounded messages.** Each violation's message and JSON Pointers are cut at
//!   [`MAX_MESSAGE_CHARS`] while they are written, so a violation on a large value or under
//!   a long key never builds a large string.
//!
//! Nothing here touches PostgreSQL; the extension calls it from its write path.

use std::fmt::{self, Write as _};

use jsonschema::{Draft, PatternOptions, Validator};

mod stack;
use serde_json::Value;

/// Largest schema accepted, in bytes of its JSON text.
pub const MAX_SCHEMA_BYTES: usize = 512 * 1024;
/// Deepest nesting of arrays and objects accepted in a schema document.
pub const MAX_SCHEMA_DEPTH: usize = 64;
/// Longest message kept for one violation, in characters.
pub const MAX_MESSAGE_CHARS: usize = 200;
/// Most keyword applications validation may nest: schema nodes × (state depth + 1).
pub const MAX_VALIDATION_DEPTH: usize = 65_536;
/// The stack validation runs on: [`MAX_VALIDATION_DEPTH`] levels at 4 KiB each.
pub const VALIDATION_STACK_BYTES: usize = MAX_VALIDATION_DEPTH * 4096;
/// Size limit of one compiled `pattern` (the `regex` crate's `size_limit`, in bytes).
const MAX_PATTERN_BYTES: usize = 1 << 20;

const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";
const DRAFT_7: &str = "http://json-schema.org/draft-07/schema";

/// Why a schema cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaError {
    /// Not a JSON object or boolean.
    NotASchema(&'static str),
    /// Larger than [`MAX_SCHEMA_BYTES`].
    TooLarge { bytes: usize },
    /// Nested deeper than [`MAX_SCHEMA_DEPTH`].
    TooDeep,
    /// `$schema` names a draft other than 2020-12 or 7.
    UnknownDraft(String),
    /// The schema does not conform to its draft's meta-schema, names a reference that
    /// is not inside it, or has a pattern the regex engine refuses.
    Invalid(String),
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaError::NotASchema(kind) => {
                write!(f, "a JSON Schema is an object or a boolean, not {kind}")
            }
            SchemaError::TooLarge { bytes } => {
                write!(f, "the schema is {bytes} bytes of JSON, more than the limit of {MAX_SCHEMA_BYTES}")
            }
            SchemaError::TooDeep => {
                write!(f, "the schema nests more than {MAX_SCHEMA_DEPTH} levels")
            }
            SchemaError::UnknownDraft(uri) => write!(
                f,
                "unsupported $schema {}: use {DRAFT_2020_12} (the default) or {DRAFT_7}",
                bounded(|out| write!(out, "{uri:?}"))
            ),
            SchemaError::Invalid(message) => f.write_str(message),
        }
    }
}

/// Why a state could not be validated at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooComplex {
    /// The schema's node count times the state's depth plus one.
    pub depth: usize,
}

impl fmt::Display for TooComplex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "validating this state could nest {} schema levels (schema nodes × state depth), more than {MAX_VALIDATION_DEPTH}",
            self.depth
        )
    }
}

/// Which draft a schema is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaDraft {
    Draft2020_12,
    Draft7,
}

impl SchemaDraft {
    /// The draft a schema asks for through `$schema` (2020-12 when it says nothing).
    pub fn of(schema: &Value) -> Result<SchemaDraft, SchemaError> {
        let Some(uri) = schema.as_object().and_then(|object| object.get("$schema")) else {
            return Ok(SchemaDraft::Draft2020_12);
        };
        let Some(uri) = uri.as_str() else {
            return Err(SchemaError::Invalid(
                "$schema must be a string (a meta-schema URI)".into(),
            ));
        };
        let bare = uri.strip_suffix('#').unwrap_or(uri);
        let bare = bare
            .strip_prefix("https://")
            .or_else(|| bare.strip_prefix("http://"))
            .unwrap_or(bare);
        match bare {
            "json-schema.org/draft/2020-12/schema" => Ok(SchemaDraft::Draft2020_12),
            "json-schema.org/draft-07/schema" => Ok(SchemaDraft::Draft7),
            _ => Err(SchemaError::UnknownDraft(uri.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SchemaDraft::Draft2020_12 => "2020-12",
            SchemaDraft::Draft7 => "7",
        }
    }

    fn engine(self) -> Draft {
        match self {
            SchemaDraft::Draft2020_12 => Draft::Draft202012,
            SchemaDraft::Draft7 => Draft::Draft7,
        }
    }
}

/// One way a state fails its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON Pointer of the failing value in the state (`""` for the whole state), cut at
    /// [`MAX_MESSAGE_CHARS`].
    pub instance_path: String,
    /// The schema keyword that failed (`minimum`, `required`, `type`, …).
    pub keyword: String,
    /// JSON Pointer of that keyword in the schema, cut at [`MAX_MESSAGE_CHARS`].
    pub schema_path: String,
    /// What is wrong, cut at [`MAX_MESSAGE_CHARS`].
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.instance_path.is_empty() {
            "(root)"
        } else {
            &self.instance_path
        };
        write!(
            f,
            "{at}: {} (schema {})",
            self.message,
            display_pointer(&self.schema_path)
        )
    }
}

fn display_pointer(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(root)"
    } else {
        pointer
    }
}

/// A schema checked and compiled, ready to validate states.
pub struct CompiledSchema {
    validator: Validator,
    draft: SchemaDraft,
    /// Objects, arrays and booleans in the schema: the most keywords one level of a
    /// state can go through.
    nodes: usize,
}

impl fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledSchema")
            .field("draft", &self.draft)
            .finish_non_exhaustive()
    }
}

impl CompiledSchema {
    /// Checks `schema` against the bounds, its draft and its meta-schema, and compiles it.
    pub fn compile(schema: &Value) -> Result<CompiledSchema, SchemaError> {
        match schema {
            Value::Object(_) | Value::Bool(_) => {}
            Value::Null => return Err(SchemaError::NotASchema("null")),
            Value::Array(_) => return Err(SchemaError::NotASchema("an array")),
            Value::String(_) => return Err(SchemaError::NotASchema("a string")),
            Value::Number(_) => return Err(SchemaError::NotASchema("a number")),
        }
        let nodes = count_nodes(schema)?;
        let bytes = serde_json::to_vec(schema).map_or(usize::MAX, |text| text.len());
        if bytes > MAX_SCHEMA_BYTES {
            return Err(SchemaError::TooLarge { bytes });
        }
        let draft = SchemaDraft::of(schema)?;
        let validator = jsonschema::options()
            .with_draft(draft.engine())
            .offline()
            .with_pattern_options(
                PatternOptions::regex()
                    .size_limit(MAX_PATTERN_BYTES)
                    .dfa_size_limit(MAX_PATTERN_BYTES),
            )
            .build(schema)
            .map_err(|error| SchemaError::Invalid(describe_schema_error(&error)))?;
        Ok(CompiledSchema {
            validator,
            draft,
            nodes,
        })
    }

    pub fn draft(&self) -> SchemaDraft {
        self.draft
    }

    /// Whether `state` conforms; the fast path of a write.
    pub fn is_valid(&self, state: &Value) -> Result<bool, TooComplex> {
        self.on_validation_stack(state, || self.validator.is_valid(state))
    }

    /// Up to `limit` ways `state` fails the schema (none when it conforms).
    pub fn violations(&self, state: &Value, limit: usize) -> Result<Vec<Violation>, TooComplex> {
        self.on_validation_stack(state, || self.collect_violations(state, limit))
    }

    fn on_validation_stack<T>(
        &self,
        state: &Value,
        validate: impl FnOnce() -> T,
    ) -> Result<T, TooComplex> {
        let depth = self.nodes.saturating_mul(depth_of(state) + 1);
        if depth > MAX_VALIDATION_DEPTH {
            return Err(TooComplex { depth });
        }
        Ok(stack::on_validation_stack(depth, validate))
    }

    fn collect_violations(&self, state: &Value, limit: usize) -> Vec<Violation> {
        self.validator
            .iter_errors(state)
            .take(limit)
            .map(|error| Violation {
                // A pointer is as long as the keys on its way (a state's key can be
                // megabytes): cut like the message.
                instance_path: bounded(|out| out.write_str(error.instance_path().as_str())),
                keyword: keyword_of(error.schema_path().as_str()),
                schema_path: bounded(|out| out.write_str(error.schema_path().as_str())),
                message: bounded(|out| write!(out, "{error}")),
            })
            .collect()
    }
}

/// The keyword a schema path ends in (`/properties/n/minimum` → `minimum`).
fn keyword_of(schema_path: &str) -> String {
    let last = schema_path.rsplit('/').next().unwrap_or_default();
    last.replace("~1", "/").replace("~0", "~")
}

/// The crate's message for a schema it refused, with where in the schema.
fn describe_schema_error(error: &jsonschema::ValidationError<'_>) -> String {
    let message = bounded(|out| write!(out, "{error}"));
    let at = bounded(|out| out.write_str(error.instance_path().as_str()));
    if at.is_empty() {
        message
    } else {
        format!("{message} (at {at} in the schema)")
    }
}

/// Counts a schema's nodes (objects, arrays, booleans), refusing one nested deeper than
/// [`MAX_SCHEMA_DEPTH`]; without recursing.
fn count_nodes(schema: &Value) -> Result<usize, SchemaError> {
    let mut nodes = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(schema, 1)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(members) => Box::new(members.values()),
            Value::Bool(_) => {
                nodes += 1;
                continue;
            }
            _ => continue,
        };
        if depth > MAX_SCHEMA_DEPTH {
            return Err(SchemaError::TooDeep);
        }
        nodes += 1;
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(nodes)
}

/// How deeply a state nests (a scalar is 0), without recursing.
fn depth_of(state: &Value) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(state, 0)];
    while let Some((value, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|item| (item, depth + 1))),
            Value::Object(members) => {
                stack.extend(members.values().map(|member| (member, depth + 1)))
            }
            _ => {}
        }
    }
    deepest
}

/// Text written by `write`, stopped at [`MAX_MESSAGE_CHARS`] characters (with `…`):
/// writing stops there, so a long value is never formatted in full.
fn bounded(write: impl FnOnce(&mut BoundedText) -> fmt::Result) -> String {
    let mut out = BoundedText {
        text: String::new(),
        chars: 0,
        cut: false,
    };
    let _ = write(&mut out);
    if out.cut {
        out.text.push('…');
    }
    out.text
}

struct BoundedText {
    text: String,
    chars: usize,
    cut: bool,
}

impl fmt::Write for BoundedText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.chars == MAX_MESSAGE_CHARS {
                self.cut = true;
                return Err(fmt::Error);
            }
            self.text.push(c);
            self.chars += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
