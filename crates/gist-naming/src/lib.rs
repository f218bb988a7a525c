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
///
/// Within one entity type every template, the default `{entity_type}.{entity_id}.json`
/// included, gives each entity its own file name: with the type fixed, a name is the
/// fixed text and `n` copies of the id for the `n` occurrences of `{entity_id}`, so its
/// length fixes the id's length, and the first occurrence then spells the id. Entities
/// of different types, or of targets with different templates, on one Gist can still
/// share a name (`x`/`y.z` and `x.y`/`z` both become `x.y.z.json` under the default
/// template): [`FileNameTemplate::may_collide`] tells whether two targets can.
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

    /// Whether an entity of type `entity_type` under this template and one of type
    /// `other_type` under `other` can ever get the same file name, so that exporting both
    /// to one Gist could make one overwrite the other. Never false when such a pair of
    /// entities exists; may be true when none does (see below). True for the same type
    /// and identical rendered templates, which are one target, not two.
    ///
    /// Every name of a target starts with its fixed text before the first `{entity_id}`
    /// (a prefix) and ends with its fixed text after the last (a suffix), so a shared name
    /// needs one prefix to begin the other and one suffix to end the other; the answer is
    /// whether both hold. With one `{entity_id}` in each template that is exact: if the
    /// prefix `P` is the longer one and the suffix `S` too, then for any id `m`, the name
    /// `P m S` belongs to both targets (with ids that are `m` padded by the surplus of
    /// `P` and `S`, characters taken from the fixed text and so valid in names); the
    /// other cases pad the same way. With several occurrences the middle parts are not
    /// compared, so the answer errs towards true. The length limit on names is ignored
    /// too, which also errs towards true.
    pub fn may_collide(
        &self,
        entity_type: &str,
        other: &FileNameTemplate,
        other_type: &str,
    ) -> bool {
        let (prefix, suffix) = self.fixed_ends(entity_type);
        let (other_prefix, other_suffix) = other.fixed_ends(other_type);
        (prefix.starts_with(&other_prefix) || other_prefix.starts_with(&prefix))
            && (suffix.ends_with(&other_suffix) || other_suffix.ends_with(&suffix))
    }

    /// The rendered fixed text before the first `{entity_id}` and after the last.
    fn fixed_ends(&self, entity_type: &str) -> (String, String) {
        let render = |parts: &[Part]| {
            let mut text = String::new();
            for part in parts {
                match part {
                    Part::Literal(literal) => text.push_str(literal),
                    Part::EntityType => text.push_str(entity_type),
                    Part::EntityId => {}
                }
            }
            text
        };
        let mut pieces = self.parts.split(|part| *part == Part::EntityId);
        let prefix = pieces.next().map(render).unwrap_or_default();
        let suffix = pieces.next_back().map(render).unwrap_or_default();
        (prefix, suffix)
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
        return Err(format!(
            "is {} bytes long, more than {MAX_FILE_NAME_BYTES}",
            name.len()
        ));
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
        assert_eq!(
            template
                .entity_id_of("config.app.json", "config")
                .as_deref(),
            Some("app")
        );
        assert_eq!(
            template
                .entity_id_of("config.a.b.json", "config")
                .as_deref(),
            Some("a.b")
        );
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
        assert!(template
            .render("config", &"x".repeat(300))
            .unwrap_err()
            .to_string()
            .contains("bytes long"));
        assert!(FileNameTemplate::parse("{entity_id}")
            .unwrap()
            .render("t", " ")
            .is_err());
    }

    #[test]
    fn entity_types_are_checked_when_a_target_is_set() {
        let template = FileNameTemplate::parse("{entity_type}.{entity_id}.json").unwrap();
        assert!(template.check_entity_type("config").is_ok());
        let error = template.check_entity_type("a/b").unwrap_err().to_string();
        assert!(
            error.starts_with("entity type \"a/b\" cannot be exported with this template"),
            "{error}"
        );
    }

    #[test]
    fn entity_id_of_agrees_with_render() {
        let template = FileNameTemplate::parse("{entity_id}-{entity_type}.json").unwrap();
        for id in ["a", "with space", "dots.in.id", "ünï"] {
            let name = template.render("cfg", id).unwrap();
            assert_eq!(template.entity_id_of(&name, "cfg").as_deref(), Some(id));
        }
    }

    #[test]
    fn types_on_one_gist_collide_when_one_type_extends_another() {
        let default = FileNameTemplate::parse("{entity_type}.{entity_id}.json").unwrap();
        assert_eq!(default.render("x", "y.z"), default.render("x.y", "z"));
        assert!(default.may_collide("x", &default, "x.y"));
        assert!(default.may_collide("x.y", &default, "x"));
        assert!(!default.may_collide("config", &default, "users"));
        assert!(!default.may_collide("config", &default, "configs"));
        // One target: the same type under the same template.
        assert!(default.may_collide("config", &default, "config"));

        let bare = FileNameTemplate::parse("{entity_id}.json").unwrap();
        assert!(bare.may_collide("config", &bare, "users"));
        assert_eq!(bare.render("config", "a"), bare.render("users", "a"));
        assert!(bare.may_collide("config", &default, "users"));
        assert!(!bare.may_collide(
            "config",
            &FileNameTemplate::parse("{entity_id}.txt").unwrap(),
            "users"
        ));

        let state = FileNameTemplate::parse("state-{entity_type}-{entity_id}.json").unwrap();
        assert!(!state.may_collide("config", &default, "config"));
        assert!(!state.may_collide("a", &state, "b"));
        assert!(state.may_collide("a", &state, "a-b"));
    }

    #[test]
    fn templates_with_several_ids_collide_unless_their_ends_differ() {
        let twice = FileNameTemplate::parse("{entity_id}-{entity_type}-{entity_id}.json").unwrap();
        let once = FileNameTemplate::parse("{entity_id}.json").unwrap();
        assert!(twice.may_collide("t", &once, "u"));
        assert_eq!(
            twice.render("t", "a").unwrap(),
            once.render("u", "a-t-a").unwrap()
        );
        assert!(!twice.may_collide(
            "t",
            &FileNameTemplate::parse("{entity_id}.txt").unwrap(),
            "u"
        ));
        let split = FileNameTemplate::parse("a{entity_id}-{entity_id}").unwrap();
        assert!(!split.may_collide("t", &FileNameTemplate::parse("b{entity_id}").unwrap(), "t"));
        let longer_prefix = FileNameTemplate::parse("ab{entity_id}").unwrap();
        assert!(split.may_collide("t", &longer_prefix, "t"));
        assert_eq!(
            split.render("t", "b").unwrap(),
            longer_prefix.render("t", "-b").unwrap()
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use proptest::sample::select;

        fn template_from(parts: Vec<&'static str>) -> impl Strategy<Value = FileNameTemplate> {
            (proptest::collection::vec(select(parts), 0..4), 0usize..4).prop_map(
                |(mut parts, at)| {
                    parts.insert(at.min(parts.len()), "{entity_id}");
                    FileNameTemplate::parse(&parts.concat()).unwrap()
                },
            )
        }

        fn template() -> impl Strategy<Value = FileNameTemplate> {
            template_from(vec![
                "{entity_type}",
                "{entity_id}",
                "a",
                ".",
                "b",
                "ab",
                "-a",
                ".json",
            ])
        }

        fn single_id_template() -> impl Strategy<Value = FileNameTemplate> {
            template_from(vec!["{entity_type}", "a", ".", "b", "ab", "-a", ".json"])
        }

        fn entity_type() -> impl Strategy<Value = &'static str> {
            select(vec!["x", "x.y", "a", "a.b", "b", "ab", "json", ""])
        }

        /// The rendered text before and after the only `{entity_id}` of a template.
        fn ends(template: &FileNameTemplate, entity_type: &str) -> (String, String) {
            let marker = "\u{e000}";
            let name = template.render(entity_type, marker).unwrap();
            let (prefix, suffix) = name.split_once(marker).unwrap();
            (prefix.to_owned(), suffix.to_owned())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

            /// Every id that the other target could give the same name is a substring of
            /// that name, so trying them all finds every collision with this id.
            #[test]
            fn targets_said_not_to_collide_never_do(
                a in template(),
                a_type in entity_type(),
                b in template(),
                b_type in entity_type(),
                id in "[ab.x-]{1,5}",
            ) {
                let Ok(name) = a.render(a_type, &id) else { return Ok(()) };
                let boundaries: Vec<usize> = name.char_indices().map(|(i, _)| i).chain([name.len()]).collect();
                for (n, &start) in boundaries.iter().enumerate() {
                    for &end in &boundaries[n + 1..] {
                        let other_id = &name[start..end];
                        if b.render(b_type, other_id).as_deref() == Ok(name.as_str()) && (a_type, id.as_str()) != (b_type, other_id) {
                            prop_assert!(a.may_collide(a_type, &b, b_type), "{name:?}: {a_type}/{id} and {b_type}/{other_id}");
                        }
                    }
                }
            }

            /// With one `{entity_id}` per template a collision exists whenever one is said
            /// to: the name made of the longer prefix, any id, and the longer suffix.
            #[test]
            fn single_id_targets_said_to_collide_do(
                a in single_id_template(),
                a_type in entity_type(),
                b in single_id_template(),
                b_type in entity_type(),
            ) {
                let ((a_prefix, a_suffix), (b_prefix, b_suffix)) = (ends(&a, a_type), ends(&b, b_type));
                let one_target = (a_type, &a_prefix, &a_suffix) == (b_type, &b_prefix, &b_suffix);
                if one_target || !a.may_collide(a_type, &b, b_type) {
                    return Ok(());
                }
                let prefix = if a_prefix.len() > b_prefix.len() { a_prefix } else { b_prefix };
                let suffix = if a_suffix.len() > b_suffix.len() { a_suffix } else { b_suffix };
                let name = format!("{prefix}z{suffix}");
                let a_id = a.entity_id_of(&name, a_type);
                let b_id = b.entity_id_of(&name, b_type);
                prop_assert!(a_id.is_some() && b_id.is_some(), "{name:?}");
                prop_assert!((a_type, a_id) != (b_type, b_id), "{name:?}");
            }
        }
    }
}
