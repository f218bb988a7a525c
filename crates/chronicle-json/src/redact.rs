//! Redacting secrets from command parameters before they reach disk.
//!
//! A member is redacted when its key, compared without case and without `_`, `-` or
//! spaces, *contains* one of the patterns: `api_key` catches `apiKey`, `X-Api-Key` and
//! `github_api_key`. Erring towards redacting a harmless key is the safe side. The whole
//! value of a matching member is replaced, whatever it is, by `"[REDACTED]"`; members of
//! objects at any depth (inside arrays too) are checked. Iterative, like the rest of the
//! crate, so any depth is fine.

use serde_json::Value;

/// What a redacted value becomes.
pub const REDACTED: &str = "[REDACTED]";

/// Patterns of secret-bearing keys, prepared for matching.
#[derive(Debug, Clone)]
pub struct Redactor {
    patterns: Vec<String>,
}

impl Redactor {
    /// Patterns from a comma-separated list such as `"password, secret, api_key"`; empty
    /// entries are ignored.
    pub fn from_list(list: &str) -> Self {
        let patterns = list.split(',').map(normalize).filter(|pattern| !pattern.is_empty()).collect();
        Redactor { patterns }
    }

    /// Whether a member with this key is redacted.
    pub fn matches(&self, key: &str) -> bool {
        let key = normalize(key);
        self.patterns.iter().any(|pattern| key.contains(pattern.as_str()))
    }

    /// Redacts `value` in place; returns how many members were redacted.
    pub fn redact(&self, value: &mut Value) -> usize {
        let mut redacted = 0;
        let mut pending = vec![value];
        while let Some(value) = pending.pop() {
            match value {
                Value::Object(map) => {
                    for (key, member) in map.iter_mut() {
                        if self.matches(key) {
                            if member.as_str() != Some(REDACTED) {
                                *member = Value::String(REDACTED.to_owned());
                                redacted += 1;
                            }
                        } else {
                            pending.push(member);
                        }
                    }
                }
                Value::Array(items) => pending.extend(items.iter_mut()),
                _ => {}
            }
        }
        redacted
    }
}

fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_without_case_or_separators() {
        let redactor = Redactor::from_list("password, api_key,token,,");
        for key in ["password", "PASSWORD", "db_password", "apiKey", "X-Api-Key", "refresh_token", "Token"] {
            assert!(redactor.matches(key), "{key}");
        }
        for key in ["user", "api", "pass", "key"] {
            assert!(!redactor.matches(key), "{key}");
        }
    }

    #[test]
    fn secrets_are_replaced_at_any_depth() {
        let redactor = Redactor::from_list("password,authorization,secret");
        let mut value = json!({
            "user": "ada",
            "password": "hunter2",
            "nested": {"headers": {"Authorization": "Bearer x", "accept": "json"}},
            "list": [{"client_secret": {"a": 1}}, "secret strings in values stay"]
        });
        assert_eq!(redactor.redact(&mut value), 3);
        assert_eq!(
            value,
            json!({
                "user": "ada",
                "password": "[REDACTED]",
                "nested": {"headers": {"Authorization": "[REDACTED]", "accept": "json"}},
                "list": [{"client_secret": "[REDACTED]"}, "secret strings in values stay"]
            })
        );
        assert_eq!(redactor.redact(&mut value), 0, "redacting twice changes nothing");
    }

    #[test]
    fn deep_values_do_not_overflow_the_stack() {
        let redactor = Redactor::from_list("token");
        let mut value = json!({"token": 1});
        for _ in 0..100_000 {
            // Not json!([value]): the macro serializes its argument, recursively.
            value = Value::Array(vec![value]);
        }
        assert_eq!(redactor.redact(&mut value), 1);
        // serde_json's Drop recurses; leak the deep value instead of dropping it here.
        std::mem::forget(value);
    }
}
