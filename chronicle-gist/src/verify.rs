//! Verifying that each current entity's Gist file holds the same JSON.
//!
//! Comparison is by checksum of canonical JSON ([`chronicle_json::checksum`],
//! the same function the database uses for `current_state.checksum`), so
//! formatting, key order and number spelling do not matter.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use gist_naming::FileNameTemplate;

use crate::db::{DbError, StateStore};
use crate::github::{ApiError, Gist, GithubClient};

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Only targets exporting to this gist (enabled or not); default: all
    /// enabled targets.
    pub gist_id: Option<String>,
    /// Only this entity type.
    pub entity_type: Option<String>,
}

/// The verdict for one entity (or one stray file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Match,
    Mismatch,
    /// The gist has no file for the entity.
    Missing,
    /// The file exists but its JSON does not parse.
    Unreadable,
    /// The gist itself could not be read (404 and the like).
    GistError,
    /// A gist file no verified entity maps to; informational only.
    Untracked,
}

impl Status {
    /// Whether this status means the gist is out of sync.
    pub fn is_problem(self) -> bool {
        !matches!(self, Status::Match | Status::Untracked)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Match => "match",
            Status::Mismatch => "MISMATCH",
            Status::Missing => "MISSING",
            Status::Unreadable => "UNREADABLE",
            Status::GistError => "GIST ERROR",
            Status::Untracked => "untracked",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRow {
    pub status: Status,
    pub entity_type: String,
    pub entity_id: String,
    pub version: Option<i64>,
    pub gist_id: String,
    pub file_name: String,
    pub detail: String,
}

/// All rows, in target, then entity order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub rows: Vec<VerifyRow>,
}

impl VerifyReport {
    pub fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    /// True when no row is a problem: the exit status is 0 exactly then.
    pub fn in_sync(&self) -> bool {
        !self.rows.iter().any(|r| r.status.is_problem())
    }

    /// The table printed by `chronicle-gist verify`.
    pub fn render_table(&self) -> String {
        let header = ["STATUS", "ENTITY", "VERSION", "GIST", "FILE", "DETAIL"];
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.status.label().to_string(),
                    if r.entity_id.is_empty() {
                        "-".into()
                    } else {
                        format!("{}/{}", r.entity_type, r.entity_id)
                    },
                    r.version.map_or("-".into(), |v| v.to_string()),
                    r.gist_id.clone(),
                    r.file_name.clone(),
                    r.detail.clone(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |row: &[String]| {
            let mut text = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    text.push_str(cell);
                } else {
                    text.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&header.map(String::from));
        for row in &cells {
            line(row);
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    pub fn summary(&self) -> String {
        format!(
            "{} match, {} mismatch, {} missing, {} unreadable, {} gist errors, {} untracked files",
            self.count(Status::Match),
            self.count(Status::Mismatch),
            self.count(Status::Missing),
            self.count(Status::Unreadable),
            self.count(Status::GistError),
            self.count(Status::Untracked)
        )
    }
}

/// Why verification could not run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    Github(ApiError),
    Database(DbError),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Github(e) => write!(f, "{e}"),
            VerifyError::Database(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for VerifyError {}

fn short(checksum: &str) -> &str {
    &checksum[..checksum.len().min(12)]
}

/// Compares every current entity of the selected targets with its file.
pub fn run_verify<S: StateStore>(
    store: &mut S,
    github: &GithubClient,
    options: &VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
    let targets = store.gist_targets().map_err(VerifyError::Database)?;
    let mut report = VerifyReport::default();
    // Each gist is fetched once, even when several entity types share it.
    let mut gists: HashMap<String, Result<Gist, ApiError>> = HashMap::new();
    // Files some verified entity maps to, per gist (to spot strays).
    let mut claimed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();

    for target in targets {
        let Some(gist_id) = target.gist_id.clone() else {
            continue;
        };
        let selected = match &options.gist_id {
            Some(wanted) => *wanted == gist_id,
            None => target.enabled,
        };
        if !selected
            || options
                .entity_type
                .as_ref()
                .is_some_and(|t| *t != target.entity_type)
        {
            continue;
        }
        let entities = store
            .current_entities(&target.entity_type)
            .map_err(VerifyError::Database)?;
        let gist = gists
            .entry(gist_id.clone())
            .or_insert_with(|| github.patiently(None, |c| c.get_gist(&gist_id)));
        if let Err(ApiError::Unauthorized { message }) = gist {
            return Err(VerifyError::Github(ApiError::Unauthorized {
                message: message.clone(),
            }));
        }
        let files = claimed.entry(gist_id.clone()).or_default();
        // File names come from the target's template through gist-naming,
        // the code chronicle.gist_file_name runs. Named here rather than by
        // the database, where one entity whose id makes an invalid name
        // (written before the target was set) would fail the whole query.
        let template = match target.filename_template.as_deref() {
            Some(template) => FileNameTemplate::parse(template)
                .map_err(|e| format!("the target's file name template is unusable: {e}")),
            None => Err("the target has no file name template".to_string()),
        };

        for entity in entities {
            let mut row = VerifyRow {
                status: Status::Match,
                entity_type: entity.entity_type.clone(),
                entity_id: entity.entity_id.clone(),
                version: Some(entity.version),
                gist_id: gist_id.clone(),
                file_name: "-".into(),
                detail: String::new(),
            };
            let named = template.as_ref().map_err(Clone::clone).and_then(|t| {
                t.render(&entity.entity_type, &entity.entity_id)
                    .map_err(|e| e.to_string())
            });
            let file_name = match named {
                Ok(file_name) => file_name,
                Err(reason) => {
                    // Its state cannot be in the gist: out of sync.
                    row.status = Status::Missing;
                    row.detail = reason;
                    report.rows.push(row);
                    continue;
                }
            };
            files.insert(file_name.clone());
            row.file_name = file_name.clone();
            let expected = entity.checksum.clone();
            let gist = match gist {
                Ok(gist) => gist,
                Err(e) => {
                    row.status = Status::GistError;
                    row.detail = e.to_string();
                    report.rows.push(row);
                    continue;
                }
            };
            let Some(file) = gist.files.get(&file_name) else {
                if gist.truncated {
                    // GitHub lists only the first 300 files of a gist.
                    row.status = Status::Unreadable;
                    row.detail = "not among the 300 files GitHub lists for this gist; clone the gist to check it".into();
                } else {
                    row.status = Status::Missing;
                    row.detail = "no such file in the gist".into();
                }
                report.rows.push(row);
                continue;
            };
            let actual = github
                .patiently(None, |c| c.file_content(file))
                .map_err(|e| format!("cannot fetch the file: {e}"))
                .and_then(|text| {
                    chronicle_json::parse(&text).map_err(|e| format!("malformed JSON: {e}"))
                })
                .map(|value| chronicle_json::checksum(&value));
            match actual {
                Err(reason) => {
                    row.status = Status::Unreadable;
                    row.detail = reason;
                }
                Ok(actual) if actual == expected => {
                    row.detail = format!("sha256 {}", short(&actual));
                }
                Ok(actual) => {
                    row.status = Status::Mismatch;
                    row.detail =
                        format!("database {} != gist {}", short(&expected), short(&actual));
                }
            }
            report.rows.push(row);
        }
    }

    // Stray files only make sense when every type sharing a gist was seen.
    if options.entity_type.is_none() {
        for (gist_id, files) in &claimed {
            if let Some(Ok(gist)) = gists.get(gist_id) {
                for name in gist.files.keys().filter(|n| !files.contains(*n)) {
                    report.rows.push(VerifyRow {
                        status: Status::Untracked,
                        entity_type: String::new(),
                        entity_id: String::new(),
                        version: None,
                        gist_id: gist_id.clone(),
                        file_name: name.clone(),
                        detail: "no current entity maps to this file".into(),
                    });
                }
            }
        }
    }
    Ok(report)
}
