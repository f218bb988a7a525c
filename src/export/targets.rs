//! Gist targets: which entity types are exported to which Gist, under which file names.

use gist_naming::FileNameTemplate;
use pgrx::datum::TryFromDatumError;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::WhoAllocated;

use crate::errors::{raise, raise_with_hint, require_name};
use crate::plan_cache::Statement;
use pgrx::pg_sys;

/// Where an entity type's versions go.
pub struct GistTarget {
    pub gist_id: String,
    pub template: FileNameTemplate,
    pub mode: String,
}

impl GistTarget {
    pub fn new(gist_id: String, filename_template: &str, mode: String) -> Self {
        let template = FileNameTemplate::parse(filename_template).unwrap_or_else(|error| {
            raise(
                PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
                format!("stored target: {error}"),
            )
        });
        GistTarget {
            gist_id,
            template,
            mode,
        }
    }

    /// The file of an entity; an entity whose id would make an invalid Gist file name is
    /// rejected here, with its write, rather than queued to fail at GitHub later.
    pub fn file_name(&self, entity_type: &str, entity_id: &str) -> String {
        self.template
            .render(entity_type, entity_id)
            .unwrap_or_else(|error| {
                raise(
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    error.to_string(),
                )
            })
    }
}

/// The enabled target of an entity type, if any.
pub fn target_of(client: &mut SpiClient<'_>, entity_type: &str) -> Option<GistTarget> {
    static TARGET: Statement = Statement {
        sql: "SELECT gist_id, filename_template, mode FROM chronicle.gist_targets
               WHERE entity_type = $1 AND enabled",
        params: &[pg_sys::TEXTOID],
    };
    let row = TARGET.run(client, &[entity_type.into()]);
    let (gist_id, template, mode) = row.first().get_three::<String, String, String>().ok()?;
    Some(GistTarget::new(gist_id?, &template?, mode?))
}

/// Sets (or replaces) the Gist an entity type is exported to. The target is checked now
/// (by the `gist_targets` trigger), so that no entity of the type can be queued under a
/// name GitHub refuses or that another entity's file already has. Runs as the caller,
/// who needs the right to write `chronicle.gist_targets`.
#[pg_extern]
#[search_path(pg_catalog, pg_temp)]
fn set_gist_target(
    entity_type: Option<&str>,
    gist_id: Option<&str>,
    filename_template: default!(Option<&str>, "'{entity_type}.{entity_id}.json'"),
    mode: default!(Option<&str>, "'latest'"),
) -> TableIterator<
    'static,
    (
        name!(entity_type, String),
        name!(gist_id, String),
        name!(filename_template, String),
        name!(mode, String),
        name!(enabled, bool),
    ),
> {
    let entity_type = require_name("entity_type", entity_type);
    let gist_id = require_name("gist_id", gist_id);
    if !gist_id.bytes().all(|b| b.is_ascii_alphanumeric()) || gist_id.len() > 100 {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("gist_id {gist_id:?} is not a Gist id (letters and digits, as in gist.github.com/<user>/<id>)"),
        );
    }
    let template = filename_template.unwrap_or("{entity_type}.{entity_id}.json");
    let mode = mode.unwrap_or("latest");
    if mode != "latest" && mode != "every_version" {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("mode must be 'latest' or 'every_version', not {mode:?}"),
        );
    }
    static UPSERT: Statement = Statement {
        // updated_at comes in with the row: Citus refuses a stable function such as now()
        // in DO UPDATE on a reference table.
        sql: "INSERT INTO chronicle.gist_targets (entity_type, gist_id, filename_template, mode, enabled, updated_at)
              VALUES ($1, $2, $3, $4, true, now())
              ON CONFLICT (entity_type) DO UPDATE
                 SET gist_id = excluded.gist_id, filename_template = excluded.filename_template,
                     mode = excluded.mode, enabled = true, updated_at = excluded.updated_at",
        params: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TEXTOID],
    };
    Spi::connect_mut(|client| {
        // On Citus the trigger fires on the table's placements, where it cannot query the
        // distributed tables: the target is checked here, on the coordinator, instead.
        if crate::scale_out::state_is_distributed(client) {
            let parsed = check_template(&entity_type, template);
            check_target(client, &entity_type, &gist_id, &parsed);
        }
        UPSERT.run(
            client,
            &[
                entity_type.as_str().into(),
                gist_id.as_str().into(),
                template.into(),
                mode.into(),
            ],
        );
    });
    TableIterator::once((
        entity_type,
        gist_id,
        template.to_owned(),
        mode.to_owned(),
        true,
    ))
}

/// Refuses (22023) a file-name template that cannot name every entity of the type: one
/// that does not parse, or whose fixed parts and entity type already make a name GitHub
/// refuses. Only the entity id is left to check at each write.
fn check_template(entity_type: &str, template: &str) -> FileNameTemplate {
    let parsed = FileNameTemplate::parse(template).unwrap_or_else(|error| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            error.to_string(),
        )
    });
    if let Err(error) = parsed.check_entity_type(entity_type) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            error.to_string(),
        );
    }
    parsed
}

/// Refuses (22023) a target that could give two entities one file of its Gist: a Gist's
/// files are keyed by name alone, so the second entity's export would overwrite the
/// first's. Within one type a template names each entity differently; across the types
/// that share the Gist, their templates must not be able to meet.
fn check_gist_is_shared_safely(
    client: &mut SpiClient<'_>,
    entity_type: &str,
    gist_id: &str,
    template: &FileNameTemplate,
) {
    static OTHERS: Statement = Statement {
        sql: "SELECT entity_type, filename_template FROM chronicle.gist_targets
               WHERE gist_id = $1 AND entity_type <> $2
               ORDER BY entity_type",
        params: &[pg_sys::TEXTOID, pg_sys::TEXTOID],
    };
    for row in OTHERS.run(client, &[gist_id.into(), entity_type.into()]) {
        let (Ok(Some(other_type)), Ok(Some(other_template))) =
            (row.get::<String>(1), row.get::<String>(2))
        else {
            continue;
        };
        let Ok(other) = FileNameTemplate::parse(&other_template) else {
            continue;
        };
        if template.may_collide(entity_type, &other, &other_type) {
            raise_with_hint(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!(
                    "entity types {entity_type:?} and {other_type:?} cannot share Gist {gist_id} with these templates: \
                     an entity of each could be given the same file name ({other_type:?} uses {other_template:?})"
                ),
                "Give each type a template with a fixed part the other cannot produce, such as \
                 '{entity_type}--{entity_id}.json' with types that do not extend one another, or use another Gist.",
            );
        }
    }
}

/// Refuses (22023) a target under which an existing entity of the type has no valid file
/// name: its every later write or deletion would fail. Lists the first few.
fn check_existing_entities(
    client: &mut SpiClient<'_>,
    entity_type: &str,
    template: &FileNameTemplate,
) {
    static ENTITIES: Statement = Statement {
        sql: "SELECT entity_id FROM chronicle.state_entities WHERE entity_type = $1 ORDER BY entity_id",
        params: &[pg_sys::TEXTOID],
    };
    const SHOWN: usize = 10;
    let mut unnamed = Vec::new();
    let mut count = 0usize;
    for row in ENTITIES.run(client, &[entity_type.into()]) {
        let Ok(Some(entity_id)) = row.get::<String>(1) else {
            continue;
        };
        if template.render(entity_type, &entity_id).is_err() {
            count += 1;
            if unnamed.len() < SHOWN {
                unnamed.push(format!("{entity_id:?}"));
            }
        }
    }
    if count > 0 {
        let more = if count > SHOWN {
            format!(" and {} more", count - SHOWN)
        } else {
            String::new()
        };
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "{count} existing {entity_type:?} entities cannot be named by this template: {}{more}",
                unnamed.join(", ")
            ),
            "Gist file names cannot contain '/', '\\' or control characters and are at most 255 bytes; \
             choose another template, or delete those entities first.",
        );
    }
}

/// BEFORE INSERT OR UPDATE on `chronicle.gist_targets`: every check a target needs,
/// whoever writes it (set_gist_target or a direct write), so that no writer can store one
/// that makes later writes of the type fail or two entities share a file. Target writes
/// are serialised (the table is locked against other writers until commit), so two
/// targets checked at once cannot each miss the other.
#[pg_trigger(sql = r#"
CREATE FUNCTION chronicle.gist_targets_check() RETURNS trigger
LANGUAGE c
AS '@MODULE_PATHNAME@', '@FUNCTION_NAME@';
COMMENT ON FUNCTION chronicle.gist_targets_check() IS
  'Trigger: refuses a Gist target whose file-name template cannot name the entities of its type, or could give two entities of its Gist one file (22023)';
"#)]
fn gist_targets_check<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, TryFromDatumError> {
    let row = trigger
        .new()
        .expect("an INSERT or UPDATE row trigger has NEW");
    // NULLs are the NOT NULL constraints' to refuse.
    if let (Some(entity_type), Some(gist_id), Some(template)) = (
        row.get_by_name::<String>("entity_type")?,
        row.get_by_name::<String>("gist_id")?,
        row.get_by_name::<String>("filename_template")?,
    ) {
        let template = check_template(&entity_type, &template);
        // A Citus placement of the table (its name differs): set_gist_target has checked.
        let on_the_table = trigger.relation().map(|relation| relation.oid()).ok()
            == Some(crate::catalog::chronicle_relation(c"gist_targets"));
        if on_the_table {
            Spi::connect_mut(|client| check_target(client, &entity_type, &gist_id, &template));
        }
    }
    Ok(Some(row))
}

/// Every check of a target, with target writes serialised until commit.
fn check_target(
    client: &mut SpiClient<'_>,
    entity_type: &str,
    gist_id: &str,
    template: &FileNameTemplate,
) {
    static LOCK: Statement = Statement {
        sql: "LOCK TABLE chronicle.gist_targets IN SHARE ROW EXCLUSIVE MODE",
        params: &[],
    };
    LOCK.run(client, &[]);
    check_gist_is_shared_safely(client, entity_type, gist_id, template);
    check_existing_entities(client, entity_type, template);
}

/// The Gist file name of an entity under its type's target; NULL when the type has no
/// enabled target.
#[pg_extern(stable, strict, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn gist_file_name(entity_type: &str, entity_id: &str) -> Option<String> {
    Spi::connect_mut(|client| target_of(client, entity_type))
        .map(|target| target.file_name(entity_type, entity_id))
}
