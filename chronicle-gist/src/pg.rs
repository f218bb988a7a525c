//! [`Queue`] and [`StateStore`] on a real PostgreSQL database with the
//! pg_chronicle extension, through the synchronous `postgres` client.
//!
//! Every call is a plain `SELECT` of the extension's SQL function. Values
//! cross the wire as text and are cast in SQL (`$2::text::uuid`,
//! `::bigint`), so this file needs none of the `postgres` crate's optional
//! type features and does not care whether a column is `int` or `bigint`.
//! The functions returning `void` are run with `execute`, which decodes no
//! value.

use std::time::Duration;

use std::collections::HashMap;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, Statement};

use crate::db::{
    Backlog, BudgetLimits, ClaimedExport, CurrentEntity, DbError, GistTarget, ImportVersion, Queue,
    StateStore, WriteBudget,
};
use crate::tls::{SslMode, TlsSettings};

/// The channel `chronicle.export_*` notifies when rows are enqueued.
pub const EXPORT_CHANNEL: &str = "chronicle_export";

/// `application_name` of our sessions unless the database URL sets one.
pub const APPLICATION_NAME: &str = "chronicle-gist";

/// A connection to the pg_chronicle database.
pub struct PgDatabase {
    client: Client,
    listening: bool,
    /// The queue statements, prepared on first use: one round trip per
    /// call instead of two.
    prepared: HashMap<&'static str, Statement>,
}

impl PgDatabase {
    /// Connects with a libpq-style URL or key/value string, over TLS as its
    /// `sslmode` and `sslrootcert` say (see [`crate::tls`]; libpq's default
    /// `prefer` when it says nothing). Unless the URL names one, the session's `application_name`
    /// is `chronicle-gist`, so exporters are easy to spot in
    /// `pg_stat_activity`.
    pub fn connect(url: &str) -> Result<Self, DbError> {
        let split = TlsSettings::split(url).map_err(DbError::Connection)?;
        let mut config: postgres::Config = split.rest.parse().map_err(to_db_error)?;
        if config.get_application_name().is_none() {
            config.application_name(APPLICATION_NAME);
        }
        // As in libpq, a Unix socket is never encrypted, whatever sslmode says.
        let local = config
            .get_hosts()
            .iter()
            .all(|host| !matches!(host, postgres::config::Host::Tcp(_)));
        let client = if local || split.tls.effective_mode() == SslMode::Disable {
            config.ssl_mode(postgres::config::SslMode::Disable);
            config.connect(NoTls)
        } else {
            let connector = split.tls.connector().map_err(DbError::Connection)?;
            config.ssl_mode(split.tls.postgres_mode());
            config.connect(connector)
        };
        let client = client.map_err(|e| tls_hint(to_db_error(e), &split.tls))?;
        Ok(Self::from_client(client))
    }

    /// Wraps an existing client (for tests that set up their own).
    pub fn from_client(client: Client) -> Self {
        PgDatabase {
            client,
            listening: false,
            prepared: HashMap::new(),
        }
    }

    /// Starts `LISTEN chronicle_export` so that
    /// [`Queue::wait_for_notification`] wakes as soon as rows are enqueued.
    pub fn listen(&mut self) -> Result<(), DbError> {
        self.client
            .batch_execute(&format!("LISTEN {EXPORT_CHANNEL}"))
            .map_err(to_db_error)?;
        self.listening = true;
        Ok(())
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// `sql`, prepared once per connection.
    fn prepared(&mut self, sql: &'static str) -> Result<Statement, DbError> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).map_err(to_db_error)?;
        self.prepared.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// A `Duration` as text PostgreSQL casts to `interval`.
fn interval(duration: Duration) -> String {
    format!("{} milliseconds", duration.as_millis())
}

/// Says which TLS setting a certificate the connection refused failed.
fn tls_hint(error: DbError, tls: &TlsSettings) -> DbError {
    match error {
        DbError::Connection(message) if message.contains("certificate") => {
            let what = match tls.effective_mode() {
                SslMode::VerifyFull => "with sslmode=verify-full the server's certificate must be signed by a CA of sslrootcert and name the host connected to",
                _ => "with sslmode=verify-ca (or require with a root certificate file) the server's certificate must be signed by a CA of sslrootcert",
            };
            DbError::Connection(format!("{message} ({what}; {tls})"))
        }
        other => other,
    }
}

/// Keeps SQLSTATE and the server's message (with detail and hint), or the
/// whole cause chain for connection problems ("Connection refused").
pub fn to_db_error(error: postgres::Error) -> DbError {
    if let Some(db) = error.as_db_error() {
        let mut message = db.message().to_string();
        if let Some(detail) = db.detail() {
            message.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = db.hint() {
            message.push_str(&format!(" hint: {hint}"));
        }
        return DbError::Server {
            code: db.code().code().to_string(),
            message,
        };
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    DbError::Connection(message)
}

impl Queue for PgDatabase {
    fn claim(&mut self, batch: u32, lease: Duration) -> Result<Vec<ClaimedExport>, DbError> {
        let claim = self.prepared(
            "SELECT id::bigint, lease_token::text, attempt::int, gist_id::text,
                    file_name::text, operation::text, payload::text, mode::text,
                    entity_type::text, entity_id::text, version::bigint, checksum::text
               FROM chronicle.export_claim($1::int, $2::text::interval)",
        )?;
        let rows = self
            .client
            .query(
                &claim,
                &[&(batch.min(i32::MAX as u32) as i32), &interval(lease)],
            )
            .map_err(to_db_error)?;
        rows.iter()
            .map(|row| {
                Ok(ClaimedExport {
                    id: row.try_get(0).map_err(to_db_error)?,
                    lease_token: row.try_get(1).map_err(to_db_error)?,
                    attempt: row.try_get(2).map_err(to_db_error)?,
                    gist_id: row.try_get(3).map_err(to_db_error)?,
                    file_name: row.try_get(4).map_err(to_db_error)?,
                    operation: row.try_get(5).map_err(to_db_error)?,
                    payload: row.try_get(6).map_err(to_db_error)?,
                    mode: row.try_get(7).map_err(to_db_error)?,
                    entity_type: row.try_get(8).map_err(to_db_error)?,
                    entity_id: row.try_get(9).map_err(to_db_error)?,
                    version: row.try_get(10).map_err(to_db_error)?,
                    checksum: row.try_get(11).map_err(to_db_error)?,
                })
            })
            .collect()
    }

    fn ack(&mut self, id: i64, lease_token: &str, gist_revision: &str) -> Result<(), DbError> {
        // `execute`, not `query`: the function returns void, which has no
        // Rust type to decode into.
        let ack =
            self.prepared("SELECT chronicle.export_ack($1::bigint, $2::text::uuid, $3::text)")?;
        self.client
            .execute(&ack, &[&id, &lease_token, &gist_revision])
            .map(drop)
            .map_err(to_db_error)
    }

    /// One statement (one round trip, one commit) for all rows. A stale
    /// lease on any row rolls the statement back; then each row is acked on
    /// its own so the others still count.
    fn ack_all(&mut self, rows: &[(i64, &str)], gist_revision: &str) -> Vec<Result<(), DbError>> {
        if rows.len() > 1 {
            let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
            let tokens: Vec<&str> = rows.iter().map(|(_, token)| *token).collect();
            let all = self
                .prepared(
                    "SELECT chronicle.export_ack_all($1::bigint[], $2::text[]::uuid[], $3::text)",
                )
                .and_then(|ack_all| {
                    self.client
                        .execute(&ack_all, &[&ids, &tokens, &gist_revision])
                        .map_err(to_db_error)
                });
            match all {
                Ok(_) => return rows.iter().map(|_| Ok(())).collect(),
                Err(e) if e.is_connection() => {
                    return rows.iter().map(|_| Err(e.clone())).collect()
                }
                Err(_) => {} // one by one below
            }
        }
        rows.iter()
            .map(|(id, token)| self.ack(*id, token, gist_revision))
            .collect()
    }

    fn release(
        &mut self,
        id: i64,
        lease_token: &str,
        retry_after: Duration,
    ) -> Result<(), DbError> {
        let release = self.prepared(
            "SELECT chronicle.export_release($1::bigint, $2::text::uuid, $3::text::interval)",
        )?;
        self.client
            .execute(&release, &[&id, &lease_token, &interval(retry_after)])
            .map(drop)
            .map_err(to_db_error)
    }

    fn fail(
        &mut self,
        id: i64,
        lease_token: &str,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<(), DbError> {
        let fail = self.prepared(
            "SELECT chronicle.export_fail($1::bigint, $2::text::uuid, $3::text, $4::text::interval)",
        )?;
        self.client
            .execute(
                &fail,
                &[&id, &lease_token, &error, &retry_after.map(interval)],
            )
            .map(drop)
            .map_err(to_db_error)
    }

    fn wait_for_notification(&mut self, timeout: Duration) -> Result<bool, DbError> {
        if !self.listening {
            std::thread::sleep(timeout);
            return Ok(false);
        }
        let mut notifications = self.client.notifications();
        let first = notifications
            .timeout_iter(timeout)
            .next()
            .map_err(to_db_error)?;
        if first.is_none() {
            return Ok(false);
        }
        // One claim serves any number of notifications: drain the ones
        // already received without blocking.
        let mut pending = notifications.iter();
        while pending.next().map_err(to_db_error)?.is_some() {}
        Ok(true)
    }
}

/// SQLSTATE `undefined_function`.
const SQLSTATE_UNDEFINED_FUNCTION: &str = "42883";

/// A database whose pg_chronicle predates the shared write budget (0.6.0)
/// answers 42883: say what to do about it.
fn budget_error(error: postgres::Error) -> DbError {
    match to_db_error(error) {
        DbError::Server { code, message } if code == SQLSTATE_UNDEFINED_FUNCTION => {
            DbError::Server {
                code,
                message: format!(
                    "{message}; the exporter needs pg_chronicle 0.6.0 or later for the shared write budget (ALTER EXTENSION pg_chronicle UPDATE), and its role needs EXECUTE on chronicle.gist_take_write_budget, gist_write_budget_wait and gist_note_secondary_limit"
                ),
            }
        }
        other => other,
    }
}

/// A wait in seconds from the database; zero or less is no wait.
fn wait_of(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
}

impl WriteBudget for PgDatabase {
    fn take_write(&mut self, limits: &BudgetLimits) -> Result<Option<Duration>, DbError> {
        let take = self.prepared(
            "SELECT extract(epoch FROM chronicle.gist_take_write_budget($1::int, $2::int,
                    $3::text::interval, $4::text::interval))::float8",
        )?;
        let row = self
            .client
            .query_one(&take, &budget_parameters(limits).as_params())
            .map_err(budget_error)?;
        Ok(wait_of(row.try_get(0).map_err(to_db_error)?))
    }

    fn write_wait(&mut self, limits: &BudgetLimits) -> Result<Option<Duration>, DbError> {
        let wait = self.prepared(
            "SELECT extract(epoch FROM chronicle.gist_write_budget_wait($1::int, $2::int,
                    $3::text::interval, $4::text::interval))::float8",
        )?;
        let row = self
            .client
            .query_one(&wait, &budget_parameters(limits).as_params())
            .map_err(budget_error)?;
        Ok(wait_of(row.try_get(0).map_err(to_db_error)?))
    }

    fn note_secondary_limit(
        &mut self,
        retry_after: Option<Duration>,
        min_wait: Duration,
        message: &str,
    ) -> Result<Duration, DbError> {
        let row = self
            .client
            .query_one(
                "SELECT extract(epoch FROM chronicle.gist_note_secondary_limit(
                        $1::text::interval, $2::text::interval, $3::text))::float8",
                &[&retry_after.map(interval), &interval(min_wait), &message],
            )
            .map_err(budget_error)?;
        Ok(wait_of(row.try_get(0).map_err(to_db_error)?).unwrap_or_default())
    }

    fn backlog(&mut self) -> Result<Option<Backlog>, DbError> {
        let row = self
            .client
            .query_one(
                "SELECT pending::bigint, extract(epoch FROM oldest_pending_age)::float8,
                        drain_per_minute::float8
                   FROM chronicle.export_stats()",
                &[],
            )
            .map_err(to_db_error)?;
        let oldest: Option<f64> = row.try_get(1).map_err(to_db_error)?;
        Ok(Some(Backlog {
            pending: row.try_get(0).map_err(to_db_error)?,
            oldest_age: oldest.and_then(wait_of),
            drain_per_minute: row.try_get(2).map_err(to_db_error)?,
        }))
    }
}

/// The four parameters of the budget functions, owned so they can be
/// borrowed as `ToSql`.
struct BudgetParameters {
    per_minute: i32,
    per_hour: i32,
    minute: String,
    hour: String,
}

impl BudgetParameters {
    fn as_params(&self) -> [&(dyn postgres::types::ToSql + Sync); 4] {
        [&self.per_minute, &self.per_hour, &self.minute, &self.hour]
    }
}

fn budget_parameters(limits: &BudgetLimits) -> BudgetParameters {
    BudgetParameters {
        per_minute: limits.per_minute.min(i32::MAX as u32) as i32,
        per_hour: limits.per_hour.min(i32::MAX as u32) as i32,
        minute: interval(limits.minute),
        hour: interval(limits.hour),
    }
}

impl StateStore for PgDatabase {
    fn import_state_version(&mut self, v: &ImportVersion<'_>) -> Result<Option<i64>, DbError> {
        let row = self
            .client
            .query_one(
                "SELECT chronicle.import_state_version($1::text, $2::text, $3::text::jsonb,
                            $4::text::timestamptz, $5::text, $6::text, $7::text)::bigint",
                &[
                    &v.entity_type,
                    &v.entity_id,
                    &v.state_json,
                    &v.valid_from,
                    &v.gist_id,
                    &v.gist_revision,
                    &v.file_name,
                ],
            )
            .map_err(to_db_error)?;
        row.try_get(0).map_err(to_db_error)
    }

    fn gist_targets(&mut self) -> Result<Vec<GistTarget>, DbError> {
        let rows = self
            .client
            .query(
                "SELECT entity_type::text, gist_id::text, filename_template::text,
                        coalesce(enabled, false), mode::text
                   FROM chronicle.gist_targets ORDER BY entity_type",
                &[],
            )
            .map_err(to_db_error)?;
        rows.iter()
            .map(|row| {
                Ok(GistTarget {
                    entity_type: row.try_get(0).map_err(to_db_error)?,
                    gist_id: row.try_get(1).map_err(to_db_error)?,
                    filename_template: row.try_get(2).map_err(to_db_error)?,
                    enabled: row.try_get(3).map_err(to_db_error)?,
                    mode: row
                        .try_get::<_, Option<String>>(4)
                        .map_err(to_db_error)?
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    fn current_entities(&mut self, entity_type: &str) -> Result<Vec<CurrentEntity>, DbError> {
        let rows = self
            .client
            .query(
                "SELECT entity_id::text, version::bigint, checksum::text
                   FROM chronicle.current_state
                  WHERE entity_type = $1::text
                  ORDER BY entity_id",
                &[&entity_type],
            )
            .map_err(to_db_error)?;
        rows.iter()
            .map(|row| {
                Ok(CurrentEntity {
                    entity_type: entity_type.to_string(),
                    entity_id: row.try_get(0).map_err(to_db_error)?,
                    version: row.try_get(1).map_err(to_db_error)?,
                    checksum: row.try_get(2).map_err(to_db_error)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_postgres_text() {
        assert_eq!(interval(Duration::from_secs(60)), "60000 milliseconds");
        assert_eq!(interval(Duration::ZERO), "0 milliseconds");
    }

    #[test]
    fn unreachable_database_is_a_connection_error() {
        // Port 1 on loopback: nothing listens there, so this fails at once.
        let err = PgDatabase::connect("postgres://nobody@127.0.0.1:1/none?connect_timeout=5")
            .err()
            .expect("connecting to port 1 must fail");
        assert!(err.is_connection(), "{err:?}");
        assert!(
            err.to_string().contains("database connection failed"),
            "{err}"
        );
    }
}
