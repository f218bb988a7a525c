//! `chronicle.track(event jsonb)`: a RudderStack track call, as the command executor of the
//! system this extension serves sends it, recorded as a command execution. Every field is
//! checked and a malformed payload is refused with an error naming the field; a messageId
//! already recorded for the same sender is not recorded twice.

use std::str::FromStr;

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::Uuid;
use serde_json::{Map, Value};

use crate::clock::{execution_time_before, is_execution_time, shown_ms, EXECUTION_TIME_RANGE};
use crate::errors::raise;
use crate::identity::parse_uuid;
use crate::jsonb::{json_kind, Jsonb, JsonbRef};
use crate::plan_cache::Statement;

const EVENTS: [&str; 3] = ["command_executed", "command_failed", "hook_blocked"];

/// Records a RudderStack track call (`command_executed`, `command_failed` or
/// `hook_blocked`) as a finished command execution; returns its id.
#[pg_extern]
fn track(event: Option<Jsonb>) -> Uuid {
    let Some(Jsonb(event)) = event else {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "event must not be NULL",
        )
    };
    let call = TrackCall::parse(&event);
    let started_at = call.started_at();
    Spi::connect_mut(|client| {
        // Idempotent per sender: (messageId, userId, anonymousId) is unique, so the same
        // message from the same sender returns the first id, also when both copies arrive
        // at once (the second waits for the first and then finds it), while another
        // sender's messageId neither collides nor is revealed. The id of a message is
        // derived from those three (SHA-256), so the primary key keeps it unique where
        // the unique index cannot: on Citus, whose tables are distributed by id.
        static RECORD: Statement = Statement {
            sql: "INSERT INTO chronicle.command_executions
                         (id, command_name, user_id, parameters, status, started_at, completed_at, duration_ms,
                          error, command_category, hooks_executed, hooks_blocked, total_hook_time_ms,
                          chain_depth, chain_commands, state_reads, state_writes, state_size_bytes,
                          event, anonymous_id, message_id, sent_at, received_at, context)
                  VALUES (CASE WHEN $19 IS NULL THEN gen_random_uuid()
                               ELSE substr(encode(sha256(convert_to(jsonb_build_array($19, $2, $18)::text, 'UTF8')), 'hex'), 1, 32)::uuid
                          END,
                          $1, $2, $3, $4, $23, $5, $7,
                          $6, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                          $17, $18, $19, $20, coalesce($21, now()), $22)
                  ON CONFLICT DO NOTHING
                  RETURNING id",
            params: &[
                pg_sys::TEXTOID,
                pg_sys::UUIDOID,
                pg_sys::JSONBOID,
                pg_sys::TEXTOID,
                pg_sys::TIMESTAMPTZOID,
                pg_sys::JSONBOID,
                pg_sys::FLOAT8OID,
                pg_sys::TEXTOID,
                pg_sys::TEXTARRAYOID,
                pg_sys::TEXTARRAYOID,
                pg_sys::FLOAT8OID,
                pg_sys::INT4OID,
                pg_sys::TEXTARRAYOID,
                pg_sys::INT4OID,
                pg_sys::INT4OID,
                pg_sys::INT8OID,
                pg_sys::TEXTOID,
                pg_sys::TEXTOID,
                pg_sys::TEXTOID,
                pg_sys::TIMESTAMPTZOID,
                pg_sys::TIMESTAMPTZOID,
                pg_sys::JSONBOID,
                pg_sys::TIMESTAMPTZOID,
            ],
        };
        static SEEN: Statement = Statement {
            sql: "SELECT id FROM chronicle.command_executions
                   WHERE message_id = $1 AND user_id IS NOT DISTINCT FROM $2
                     AND anonymous_id IS NOT DISTINCT FROM $3",
            params: &[pg_sys::TEXTOID, pg_sys::UUIDOID, pg_sys::TEXTOID],
        };
        let p = &call.properties;
        let args: Vec<DatumWithOid<'_>> = vec![
            p.command_name.as_str().into(),
            call.user_id.into(),
            JsonbRef(&p.parameters).into(),
            call.status().into(),
            call.timestamp.into(),
            call.error().as_ref().map(JsonbRef).into(),
            p.execution_time_ms.into(),
            p.command_category.as_deref().into(),
            p.hooks_executed.clone().into(),
            p.hooks_blocked.clone().into(),
            p.total_hook_time_ms.into(),
            p.chain_depth.into(),
            p.chain_commands.clone().into(),
            p.state_reads.into(),
            p.state_writes.into(),
            p.state_size_bytes.into(),
            call.event.as_str().into(),
            call.anonymous_id.as_deref().into(),
            call.message_id.as_deref().into(),
            call.sent_at.into(),
            call.received_at.into(),
            call.context.as_ref().map(JsonbRef).into(),
            started_at.into(),
        ];
        if let Ok(Some(id)) = RECORD.run(client, &args).first().get_one::<Uuid>() {
            return id;
        }
        let seen = [
            call.message_id.as_deref().into(),
            call.user_id.into(),
            call.anonymous_id.as_deref().into(),
        ];
        SEEN.run(client, &seen).first().get_one::<Uuid>().ok().flatten().unwrap_or_else(|| {
            // The conflicting row exists but row-level security hides it from this role.
            raise(
                PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION,
                "malformed track call: messageId was already recorded for this sender, in a row this role cannot see",
            )
        })
    })
}

/// A validated track call.
struct TrackCall {
    event: String,
    user_id: Option<Uuid>,
    anonymous_id: Option<String>,
    message_id: Option<String>,
    timestamp: TimestampWithTimeZone,
    sent_at: Option<TimestampWithTimeZone>,
    received_at: Option<TimestampWithTimeZone>,
    context: Option<Value>,
    properties: Properties,
}

/// The command properties of a track call.
struct Properties {
    command_name: String,
    command_category: Option<String>,
    execution_time_ms: Option<f64>,
    parameters: Value,
    success: Option<bool>,
    error_code: Option<String>,
    error_message: Option<String>,
    hooks_executed: Vec<String>,
    hooks_blocked: Vec<String>,
    total_hook_time_ms: Option<f64>,
    state_reads: i32,
    state_writes: i32,
    state_size_bytes: i64,
    chain_depth: i32,
    chain_commands: Vec<String>,
}

impl TrackCall {
    fn parse(event: &Value) -> Self {
        let fields = object(event, "event");
        if let Some(kind) = optional_string(fields, "type") {
            if kind != "track" {
                malformed("type", format!("expected \"track\", got {kind:?}"));
            }
        }
        let name =
            optional_string(fields, "event").unwrap_or_else(|| malformed("event", "is required"));
        if !EVENTS.contains(&name.as_str()) {
            malformed(
                "event",
                format!("expected one of {}, got {name:?}", EVENTS.join(", ")),
            );
        }
        let user_id = optional_string(fields, "userId").map(|id| {
            parse_uuid(&id)
                .unwrap_or_else(|| malformed("userId", format!("expected a user uuid, got {id:?}")))
        });
        let anonymous_id = optional_string(fields, "anonymousId");
        if user_id.is_none() && anonymous_id.is_none() {
            malformed("userId", "a track call needs userId or anonymousId");
        }
        let timestamp = optional_timestamp(fields, "timestamp")
            .or_else(|| optional_timestamp(fields, "originalTimestamp"))
            .unwrap_or_else(|| malformed("timestamp", "is required (or originalTimestamp)"));
        let context = fields
            .get("context")
            .filter(|v| !v.is_null())
            .map(|context| {
                object(context, "context");
                context.clone()
            });
        let properties = fields
            .get("properties")
            .unwrap_or_else(|| malformed("properties", "is required"));
        TrackCall {
            event: name,
            user_id,
            anonymous_id,
            message_id: optional_string(fields, "messageId"),
            timestamp,
            sent_at: optional_timestamp(fields, "sentAt"),
            received_at: optional_timestamp(fields, "receivedAt"),
            context,
            properties: Properties::parse(properties),
        }
    }

    /// When the command started: `timestamp` (when it finished) less its execution time.
    fn started_at(&self) -> TimestampWithTimeZone {
        let duration = self.properties.execution_time_ms.unwrap_or(0.0);
        execution_time_before(self.timestamp, duration).unwrap_or_else(|| {
            malformed(
                "properties.execution_time_ms",
                format!(
                    "{} ms before timestamp {} starts outside the times an execution may carry \
                     ({EXECUTION_TIME_RANGE})",
                    shown_ms(duration),
                    self.timestamp
                ),
            )
        })
    }

    fn status(&self) -> &'static str {
        match self.event.as_str() {
            "command_executed" if self.properties.success != Some(false) => "success",
            _ => "failed",
        }
    }

    fn error(&self) -> Option<Value> {
        let p = &self.properties;
        let code = p
            .error_code
            .clone()
            .or_else(|| (self.event == "hook_blocked").then(|| "hook_blocked".to_owned()));
        if code.is_none() && p.error_message.is_none() {
            return None;
        }
        let mut error = Map::new();
        if let Some(code) = code {
            error.insert("code".to_owned(), Value::String(code));
        }
        if let Some(message) = &p.error_message {
            error.insert("message".to_owned(), Value::String(message.clone()));
        }
        Some(Value::Object(error))
    }
}

impl Properties {
    fn parse(properties: &Value) -> Self {
        let fields = object(properties, "properties");
        let field = |name: &str| format!("properties.{name}");
        let command_name = optional_string_at(fields, "command_name", &field("command_name"))
            .unwrap_or_else(|| malformed(&field("command_name"), "is required"));
        Properties {
            command_name,
            command_category: optional_string_at(
                fields,
                "command_category",
                &field("command_category"),
            ),
            execution_time_ms: optional_number(
                fields,
                "execution_time_ms",
                &field("execution_time_ms"),
            ),
            parameters: match fields.get("parameters") {
                None | Some(Value::Null) => Value::Object(Map::new()),
                Some(parameters) => {
                    object(parameters, &field("parameters"));
                    parameters.clone()
                }
            },
            success: match fields.get("success") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(success)) => Some(*success),
                Some(other) => malformed(
                    &field("success"),
                    format!("expected a boolean, got {other}"),
                ),
            },
            error_code: optional_string_at(fields, "error_code", &field("error_code")),
            error_message: optional_string_at(fields, "error_message", &field("error_message")),
            hooks_executed: strings(fields, "hooks_executed", &field("hooks_executed")),
            hooks_blocked: strings(fields, "hooks_blocked", &field("hooks_blocked")),
            total_hook_time_ms: optional_number(
                fields,
                "total_hook_time_ms",
                &field("total_hook_time_ms"),
            ),
            state_reads: count(fields, "state_reads", &field("state_reads")),
            state_writes: count(fields, "state_writes", &field("state_writes")),
            state_size_bytes: count(fields, "state_size_bytes", &field("state_size_bytes")),
            chain_depth: count(fields, "chain_depth", &field("chain_depth")),
            chain_commands: strings(fields, "chain_commands", &field("chain_commands")),
        }
    }
}

fn malformed(field: &str, problem: impl std::fmt::Display) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("malformed track call: {field} {problem}"),
    )
}

fn object<'a>(value: &'a Value, field: &str) -> &'a Map<String, Value> {
    value.as_object().unwrap_or_else(|| {
        malformed(
            field,
            format!("expected an object, got {}", json_kind(value)),
        )
    })
}

fn optional_string(fields: &Map<String, Value>, name: &str) -> Option<String> {
    optional_string_at(fields, name, name)
}

fn optional_string_at(fields: &Map<String, Value>, name: &str, field: &str) -> Option<String> {
    match fields.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.is_empty() => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => malformed(
            field,
            format!("expected a string, got {}", json_kind(other)),
        ),
    }
}

fn optional_timestamp(fields: &Map<String, Value>, name: &str) -> Option<TimestampWithTimeZone> {
    let text = optional_string(fields, name)?;
    let time = TimestampWithTimeZone::from_str(&text)
        .ok()
        .filter(|&time| is_execution_time(time))
        .unwrap_or_else(|| {
            malformed(
                name,
                format!(
                    "expected an ISO 8601 timestamp {EXECUTION_TIME_RANGE}, got {:?}",
                    shown_text(&text)
                ),
            )
        });
    Some(time)
}

fn optional_number(fields: &Map<String, Value>, name: &str, field: &str) -> Option<f64> {
    match fields.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => match number.as_str().parse::<f64>() {
            Ok(value) if value.is_finite() && value >= 0.0 => Some(value),
            _ => malformed(
                field,
                format!(
                    "expected a non-negative number of milliseconds, got {}",
                    shown(number)
                ),
            ),
        },
        Some(other) => malformed(
            field,
            format!("expected a number, got {}", json_kind(other)),
        ),
    }
}

fn count<T: TryFrom<i64> + Default>(fields: &Map<String, Value>, name: &str, field: &str) -> T {
    match fields.get(name) {
        None | Some(Value::Null) => T::default(),
        Some(Value::Number(number)) => number
            .as_str()
            .parse::<i64>()
            .ok()
            .filter(|&n| n >= 0)
            .and_then(|n| T::try_from(n).ok())
            .unwrap_or_else(|| {
                malformed(
                    field,
                    format!("expected a non-negative integer, got {}", shown(number)),
                )
            }),
        Some(other) => malformed(
            field,
            format!("expected an integer, got {}", json_kind(other)),
        ),
    }
}

/// A number as the payload wrote it, cut short: an error message must not echo a
/// megabyte of digits.
fn shown(number: &serde_json::Number) -> String {
    shown_text(number.as_str())
}

/// A string as the payload wrote it, cut short like [`shown`].
fn shown_text(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn strings(fields: &Map<String, Value>, name: &str, field: &str) -> Vec<String> {
    match fields.get(name) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(text) => text.clone(),
                other => malformed(
                    &format!("{field}[{index}]"),
                    format!("expected a string, got {}", json_kind(other)),
                ),
            })
            .collect(),
        Some(other) => malformed(
            field,
            format!("expected an array of strings, got {}", json_kind(other)),
        ),
    }
}
