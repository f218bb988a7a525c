//! Gist file names of pg_chronicle entities.
//!
//! A target maps an entity to a file with a template such as
//! `{entity_type}.{entity_id}.json`. GitHub keeps a Gist's files flat: a name with `/`
//! is rejected when the Gist is updated, which for an asynchronous export means a queue
//! row failing long after the write that caused it. So templates are checked when a
//! target is set, each rendered name is checked before it is queued, and the importer
//! uses the same template to map a file back to its entity.

use std::fmt;

/// The longest file name accepted, in bytes (GitHub does not document a limit; this
/// matches the common file-system limit, which Gist clones must respect).
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// A parsed file-name template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNameTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    EntityType,
    EntityId,
}

/// Why a template or a file name is refused; the text is meant for end users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(String);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NameError {}

impl FileNameTemplate {
    /// Parses a template: literal text with the placeholders `{entity_type}` and
    /// `{entity_id}`; `{entity_id}` must appear (or every entity of a type would share
    /// one file), and the literal text must not contain `/` or control characters.
    pub fn parse(template: &str) -> Result<Self, NameError> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("{entity_type}") {
                parts.push(Part::EntityType);
                rest = after;
            } else if let Some(after) = rest.strip_prefix("{entity_id}") {
                parts.push(Part::EntityId);
                rest = after;
            } else if rest.starts_with('{') {
                let placeholder = rest.split_inclusive('}').next().unwrap_or(rest);
                return Err(NameError(format!(
                    "unknown placeholder {placeholder:?} in file name template {template:?}: \
                     only {{entity_type}} and {{entity_id}} are replaced"
                )));
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = &rest[..end];
                check_characters(literal).map_err(|reason| {
                    NameError(format!("file name template {template:?} {reason}"))
                })?;
                parts.push(Part::Literal(literal.to_owned()));
                rest = &rest[end..];
            }
        }
        if !parts.contains(&Part::EntityId) {
            return Err(NameError(format!(
                "file name template {template:?} must contain {{entity_id}}, or every entity of a type would share one file"
            )));
        }
        Ok(FileNameTemplate { parts })
    }

    /// The file name of an entity, checked to be a name GitHub accepts.
    pub fn render(&self, entity_type: &str, entity_id: &str) -> Result<String, NameError> {
        let name = self.fill(entity_type, entity_id);
        check_file_name(&name).map_err(|reason| {
            NameError(format!(
                "entity {entity_type}/{entity_id} cannot be exported: its Gist file name {name:?} {reason}"
            ))
        })?;
        Ok(name)
    }

    /// Checks what the template makes of an entity type alone, so that a target whose
    /// every file name would be refused is refused when it is set.
    pub fn check_entity_type(&self, entity_type: &str) -> Result<(), NameError> {
        let example = self.fill(entity_type, "example");
        check_file_name(&example).map_err(|reason| {
            NameError(format!(
                "entity type {entity_type:?} cannot be exported with this template: its file names \
                 (such as {example:?}) would be refused, as the name {reason}"
            ))
        })
    }

    fn fill(&self, entity_type: &str, entity_id: &str) -> String {
        let mut name = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => name.push_str(text),
                Part::EntityType => name.push_str(entity_type),
                Part::EntityId => name.push_str(entity_id),
            }
        }
        name
    }

    /// The entity id a file name stands for under this template and entity type, if it
    /// matches the template.
    pub fn entity_id_of(&self, file_name: &str, entity_type: &str) -> Option<String> {
        // Everything before {entity_id} is a fixed prefix once the type is known, and
        // everything after it a fixed suffix.
        let position = self.parts.iter().position(|part| *part == Part::EntityId)?;
        let fixed = |parts: &[Part]| -> Option<String> {
            let mut text = String::new();
            for part in parts {
                match part {
                    Part::Literal(literal) => text.push_str(literal),
                    Part::EntityType => text.push_str(entity_type),
                    Part::EntityId => return None,
                }
            }
            Some(text)
        };
        let prefix = fixed(&self.parts[..position])?;
        let suffix = fixed(&self.parts[position + 1..])?;
        let id = file_name.strip_prefix(&prefix)?.strip_suffix(&suffix)?;
        (!id.is_empty() && self.render(entity_type, id).ok()? == file_name).then(|| id.to_owned())
    }
}

/// Checks a complete file name against what GitHub accepts.
pub fn check_file_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("is empty".to_owned());
    }
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err(format!("is {} bytes long, more than {MAX_FILE_NAME_BYTES}", name.len()));
    }
    check_characters(name)
}

fn check_characters(text: &str) -> Result<(), String> {
    if text.contains('/') {
        return Err("contains '/', and Gist file names cannot contain directories".to_owned());
    }
    if text.contains('\\') {
        return Err("contains '\\', which Gist clones cannot check out".to_owned());
    }
    if let Some(control) = text.chars().find(|c| c.is_control()) {
        return Err(format!("contains the control character {:?}", control));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_renders_and_maps_back() {
        let template = FileNameTemplate::parse("{entity_type}.{entity_id}.json").unwrap();
        assert_eq!(template.render("config", "app").unwrap(), "config.app.json");
        assert_eq!(template.entity_id_of("config.app.json", "config").as_deref(), Some("app"));
        assert_eq!(template.entity_id_of("config.a.b.json", "config").as_deref(), Some("a.b"));
        assert_eq!(template.entity_id_of("other.app.json", "config"), None);
        assert_eq!(template.entity_id_of("config..json", "config"), None);
    }

    #[test]
    fn templates_are_checked_when_parsed() {
        let refused = |template: &str| FileNameTemplate::parse(template).unwrap_err().to_string();
        assert!(refused("{entity_type}/{entity_id}.json").contains("contains '/'"));
        assert!(refused("{entity_type}.json").contains("must contain {entity_id}"));
        assert!(refused("{entity}.json").contains("unknown placeholder \"{entity}\""));
        assert!(refused("{entity_id").contains("unknown placeholder \"{entity_id\""));
        assert!(refused("a\tb{entity_id}").contains("control character"));
        assert!(FileNameTemplate::parse("{entity_id}").is_ok());
        assert!(FileNameTemplate::parse("state-{entity_type}-{entity_id}.json").is_ok());
    }

    #[test]
    fn rendered_names_are_checked() {
        let template = FileNameTemplate::parse("{entity_type}.{entity_id}.json").unwrap();
        let error = template.render("config", "a/b").unwrap_err().to_string();
        assert_eq!(
            error,
            "entity config/a/b cannot be exported: its Gist file name \"config.a/b.json\" contains '/', \
             and Gist file names cannot contain directories"
        );
        assert!(template.render("config", &"x".repeat(300)).unwrap_err().to_string().contains("bytes long"));
        assert!(FileNameTemplate::parse("{entity_id}").unwrap().render("t", " ").is_err());
    }

    #[test]
    fn entity_types_are_checked_when_a_target_is_set() {
        let template = FileNameTemplate::parse("{entity_type}.{entity_id}.json").unwrap();
        assert!(template.check_entity_type("config").is_ok());
        let error = template.check_entity_type("a/b").unwrap_err().to_string();
        assert!(error.starts_with("entity type \"a/b\" cannot be exported with this template"), "{error}");
    }

    #[test]
    fn entity_id_of_agrees_with_render() {
        let template = FileNameTemplate::parse("{entity_id}-{entity_type}.json").unwrap();
        for id in ["a", "with space", "dots.in.id", "ünï"] {
            let name = template.render("cfg", id).unwrap();
            assert_eq!(template.entity_id_of(&name, "cfg").as_deref(), Some(id));
        }
    }
}
