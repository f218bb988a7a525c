//! Importing a gist's revision history into the state store.
//!
//! Every revision (oldest first) is fetched; each file whose content
//! changed in that revision becomes one historical version of the entity
//! named by the file, valid from the revision's commit time. The database
//! remembers `(gist_id, revision, file_name)` and answers NULL for one it
//! has seen, so re-running imports nothing twice.
//!
//! A file is mapped to its entity with the file name template of the entity
//! type's row in `chronicle.gist_targets` (through `gist-naming`, the code
//! the extension renders names with), or, for a type without a target,
//! with [`entity_id_for`].

use std::collections::HashMap;
use std::fmt;

use gist_naming::FileNameTemplate;
use indicatif::{ProgressBar, ProgressStyle};

use crate::db::{DbError, ImportVersion, StateStore, SQLSTATE_SCHEMA_REFUSED};
use crate::github::{ApiError, GistRevision, GithubClient};
use crate::time::Timestamp;

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub gist_id: String,
    pub entity_type: String,
    /// Draw a progress bar (on stderr, when it is a terminal).
    pub progress: bool,
}

/// A file revision that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    pub revision: String,
    pub file_name: String,
    pub reason: String,
}

/// Counters of one import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Revisions in the gist's history.
    pub revisions: usize,
    /// Changed file revisions seen (added or modified files).
    pub file_revisions: usize,
    /// New versions written.
    pub imported: usize,
    /// File revisions the database already had (a re-run).
    pub already_imported: usize,
    /// File deletions seen in the history (entities are not deleted).
    pub removed_files: usize,
    /// Versions whose commit time had to move forward by microseconds
    /// because GitHub gave two revisions the same second.
    pub nudged_times: usize,
    /// The file name template files were mapped with (from the entity
    /// type's target); `None`: the default rule of [`entity_id_for`].
    pub template: Option<String>,
    pub skipped: Vec<SkippedFile>,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} revisions, {} changed file revisions: {} imported, {} already imported, {} skipped, {} file deletions ignored",
            self.revisions,
            self.file_revisions,
            self.imported,
            self.already_imported,
            self.skipped.len(),
            self.removed_files
        )
    }
}

/// Why an import stopped. Re-running after fixing the cause is safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    Github(ApiError),
    Database(DbError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Github(e) => write!(f, "{e}"),
            ImportError::Database(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// The entity id a gist file stands for when its entity type has no
/// target: the name without `.json`, and without a leading
/// `{entity_type}.`. `None` for files that are not JSON documents of this
/// program (a README, a `.txt`).
pub fn entity_id_for(file_name: &str, entity_type: &str) -> Option<String> {
    let stem = file_name.strip_suffix(".json")?;
    let id = stem
        .strip_prefix(entity_type)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or(stem);
    (!id.is_empty()).then(|| id.to_string())
}

/// How file names map to entity ids in one import.
enum FileMapping {
    /// The entity type's target template.
    Template {
        text: String,
        template: FileNameTemplate,
    },
    /// No target: [`entity_id_for`].
    Default,
}

impl FileMapping {
    /// The target's template when the entity type has a target with a
    /// usable one (enabled or not: its files are still named by it).
    fn of<S: StateStore>(store: &mut S, entity_type: &str) -> Result<Self, DbError> {
        let targets = store.gist_targets()?;
        let Some(text) = targets
            .into_iter()
            .find(|t| t.entity_type == entity_type)
            .and_then(|t| t.filename_template)
        else {
            return Ok(FileMapping::Default);
        };
        match FileNameTemplate::parse(&text) {
            Ok(template) => Ok(FileMapping::Template { text, template }),
            Err(e) => {
                tracing::warn!(
                    "the target of {entity_type} has an unusable file name template ({e}); \
                     mapping files by the default rule"
                );
                Ok(FileMapping::Default)
            }
        }
    }

    fn entity_id(&self, file_name: &str, entity_type: &str) -> Result<String, String> {
        match self {
            FileMapping::Template { text, template } => template
                .entity_id_of(file_name, entity_type)
                .ok_or_else(|| {
                    format!("does not match the file name template {text:?} of {entity_type}")
                }),
            FileMapping::Default => {
                entity_id_for(file_name, entity_type).ok_or_else(|| "not a .json file".into())
            }
        }
    }

    fn template(&self) -> Option<String> {
        match self {
            FileMapping::Template { text, .. } => Some(text.clone()),
            FileMapping::Default => None,
        }
    }
}

/// Imports the whole history of `options.gist_id` as `options.entity_type`.
pub fn run_import<S: StateStore>(
    store: &mut S,
    github: &GithubClient,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let gist_id = options.gist_id.as_str();
    let mapping = FileMapping::of(store, &options.entity_type).map_err(ImportError::Database)?;
    let mut commits: Vec<GistRevision> =
        github.list_commits(gist_id).map_err(ImportError::Github)?;
    commits.reverse(); // GitHub lists newest first; versions go oldest first.

    let mut report = ImportReport {
        revisions: commits.len(),
        template: mapping.template(),
        ..ImportReport::default()
    };
    let bar = progress_bar(options.progress, commits.len());
    // Content of each file in the previous revision: a revision lists all
    // files, changed or not, and only changed ones are new versions.
    let mut previous: HashMap<String, String> = HashMap::new();
    // Last valid_from given to each entity in this run.
    let mut last_time: HashMap<String, Timestamp> = HashMap::new();

    for commit in &commits {
        let short = &commit.version[..commit.version.len().min(7)];
        bar.set_message(format!("revision {short}"));
        let gist = github
            .patiently(None, |c| c.get_gist_revision(gist_id, &commit.version))
            .map_err(ImportError::Github)?;
        if gist.truncated {
            // GitHub lists at most 300 files per revision; the rest can
            // only be had by cloning the gist, which this tool does not do.
            let reason = "GitHub listed only the first 300 files of this revision; the others were not imported (clone the gist to get them)";
            skip(&bar, &mut report, &commit.version, "*", reason.into());
        }
        let committed_at = Timestamp::parse_rfc3339(&commit.committed_at);
        let mut current: HashMap<String, String> = HashMap::new();

        for (name, file) in &gist.files {
            let content = match github.patiently(None, |c| c.file_content(file)) {
                Ok(content) => content,
                Err(ApiError::Unauthorized { message }) => {
                    return Err(ImportError::Github(ApiError::Unauthorized { message }))
                }
                Err(e) => {
                    // Unknown content: forget the file's previous content
                    // so a later revision is not mistaken for unchanged.
                    skip(
                        &bar,
                        &mut report,
                        &commit.version,
                        name,
                        format!("cannot fetch the file: {e}"),
                    );
                    continue;
                }
            };
            current.insert(name.clone(), content);
            let content = &current[name];
            if previous.get(name) == Some(content) {
                continue; // unchanged in this revision
            }
            report.file_revisions += 1;
            bar.set_message(format!(
                "revision {short} · {name} · {} imported",
                report.imported
            ));

            let entity_id = match mapping.entity_id(name, &options.entity_type) {
                Ok(entity_id) => entity_id,
                Err(reason) => {
                    skip(&bar, &mut report, &commit.version, name, reason);
                    continue;
                }
            };
            if let Err(e) = chronicle_json::parse(content) {
                skip(
                    &bar,
                    &mut report,
                    &commit.version,
                    name,
                    format!("malformed JSON: {e}"),
                );
                continue;
            }
            let Some(committed_at) = committed_at else {
                let reason = format!(
                    "revision has an unreadable committed_at '{}'",
                    commit.committed_at
                );
                skip(&bar, &mut report, &commit.version, name, reason);
                continue;
            };
            // Versions of an entity need strictly increasing valid_from,
            // but GitHub's commit times have one-second resolution.
            let valid_from = match last_time.get(&entity_id) {
                Some(last) if *last >= committed_at => {
                    report.nudged_times += 1;
                    last.next_micro()
                }
                _ => committed_at,
            };
            let valid_from_text = valid_from.to_rfc3339();
            let version = ImportVersion {
                entity_type: &options.entity_type,
                entity_id: &entity_id,
                state_json: content,
                valid_from: &valid_from_text,
                gist_id,
                gist_revision: &commit.version,
                file_name: name,
            };
            match store.import_state_version(&version) {
                Ok(Some(_)) => {
                    report.imported += 1;
                    last_time.insert(entity_id, valid_from);
                }
                Ok(None) => {
                    report.already_imported += 1;
                    last_time.insert(entity_id, valid_from);
                }
                Err(e) if e.is_connection() => return Err(ImportError::Database(e)),
                Err(DbError::Server { code, message }) if code == SQLSTATE_SCHEMA_REFUSED => skip(
                    &bar,
                    &mut report,
                    &commit.version,
                    name,
                    format!("refused by the state schema: {message}"),
                ),
                Err(e) => skip(
                    &bar,
                    &mut report,
                    &commit.version,
                    name,
                    format!("refused by the database: {e}"),
                ),
            }
        }
        report.removed_files += previous
            .keys()
            .filter(|name| !gist.files.contains_key(*name))
            .count();
        previous = current;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(report)
}

fn progress_bar(visible: bool, revisions: usize) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(revisions as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} revisions  {wide_msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Records a skipped file revision and prints the reason above the bar.
fn skip(
    bar: &ProgressBar,
    report: &mut ImportReport,
    revision: &str,
    file_name: &str,
    reason: String,
) {
    bar.suspend(|| {
        tracing::warn!("skipped {file_name} at revision {revision}: {reason}");
    });
    report.skipped.push(SkippedFile {
        revision: revision.into(),
        file_name: file_name.into(),
        reason,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_ids_come_from_file_names() {
        assert_eq!(
            entity_id_for("order.42.json", "order").as_deref(),
            Some("42")
        );
        assert_eq!(entity_id_for("42.json", "order").as_deref(), Some("42"));
        // Only a whole `{entity_type}.` prefix is stripped.
        assert_eq!(
            entity_id_for("orders.json", "order").as_deref(),
            Some("orders")
        );
        assert_eq!(
            entity_id_for("order.json", "order").as_deref(),
            Some("order")
        );
        assert_eq!(entity_id_for("a.b.json", "x").as_deref(), Some("a.b"));
        assert_eq!(entity_id_for("README.md", "order"), None);
        assert_eq!(entity_id_for(".json", "order"), None);
        assert_eq!(entity_id_for("order..json", "order"), None);
    }
}
