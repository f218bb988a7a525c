//! Redacting secrets from command parameters before they reach disk.
//!
//! # Which keys match
//!
//! Keys and patterns are both normalized: Unicode NFKC, then lowercasing (Rust's
//! `char::to_lowercase`, which differs from full case folding only for a few characters
//! such as `ß`, none of them in a sensible secret name), then every character that is not
//! alphanumeric is dropped. So `api_key` catches `apiKey`, `X-Api-Key`, `api.key`,
//! `github_api_key`, and `password` catches `pass.word`, `pass\tword`, `pass word` with a
//! non-breaking space, `pass\u{AD}word` with a soft hyphen and the fullwidth `ｐａｓｓｗｏｒｄ`.
//! A key matches when its normalized form *contains* a normalized pattern; erring towards
//! redacting a harmless key is the safe side. Look-alike letters from other scripts
//! (Cyrillic `р` for Latin `p`, and the like) are not mapped: homoglyphs are out of scope.
//!
//! # What is redacted
//!
//! A redacted value is replaced whole, whatever it is, by `"[REDACTED]"`:
//! * the value of an object member whose key matches;
//! * in a header-style pair, a two-element array `[name, value]` whose first element is a
//!   string that matches (`[["Authorization", "Bearer x"]]`), the second element;
//! * in a name/value object, one with a member `name`, `key`, `header` or `field` (ASCII
//!   case ignored) whose string value matches, its members `value`, `val` and `content`
//!   (`{"name": "Authorization", "value": "Bearer x"}`);
//! * inside strings that hold JSON: a string that starts, after JSON whitespace, with `{`
//!   or `[` and parses (with [`crate::parse`], so depth-limited) is redacted like any
//!   other value. If anything inside it was redacted, the string is replaced by the
//!   [canonical](crate::canonical_string) text of the redacted document (so its numbers and
//!   member order are normalized too); otherwise it is left exactly as it was. Strings in
//!   those documents are examined in turn.
//!
//! Values at any depth (inside arrays too) are examined, with explicit work lists and no
//! recursion, so any depth is fine. Embedding a string in a string escapes its quotes
//! again, so each level of embedding at least doubles the text needed and the levels are
//! logarithmic in its length; the work stays near-linear.

use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::canonical_string;

/// What a redacted value becomes.
pub const REDACTED: &str = "[REDACTED]";

/// A default for the list given to [`Redactor::from_list`]: key fragments that secret
/// scanners look for.
///
/// * passwords: `password`, `passwd`, `pwd`, `passphrase`, `contrasena`, `contraseña`,
///   `db_pass`;
/// * secrets and tokens: `secret` (so `client_secret` and `otp_secret` too), `token` (so
///   `refresh_token`, `access_token`), `jwt`, `bearer`, `csrf`, `xsrf`;
/// * headers and sessions: `authorization`, `auth_header`, `cookie` (so `Set-Cookie`),
///   `session` (so `session_id`), `signature`;
/// * keys: `api_key`, `auth_key`, `access_key`, `private_key`, `priv_key`, `client_key`,
///   `service_key`, `account_key`, `signing_key`, `encryption_key`, `master_key`, `ssh_key`;
/// * credentials in other forms: `credential`, `connection_string`, `database_url`.
///
/// Fragments that would match ordinary words once normalized are left out on purpose:
/// `key` (`monkey`, `primary_key`), `auth` (`author`), `pass` (`passenger`, `compass`),
/// `pin`, `otp`, `dsn`.
pub const DEFAULT_REDACT_KEYS: &str =
    "password,passwd,pwd,passphrase,contrasena,contraseña,db_pass,\
    secret,token,jwt,bearer,csrf,xsrf,\
    authorization,auth_header,cookie,session,signature,\
    api_key,auth_key,access_key,private_key,priv_key,client_key,service_key,account_key,\
    signing_key,encryption_key,master_key,ssh_key,\
    credential,connection_string,database_url";

/// Members naming the entry of a name/value object, and the members holding its value.
const NAME_MEMBERS: [&str; 4] = ["name", "key", "header", "field"];
const VALUE_MEMBERS: [&str; 3] = ["value", "val", "content"];

/// Patterns of secret-bearing keys, prepared for matching.
#[derive(Debug, Clone)]
pub struct Redactor {
    patterns: Vec<String>,
}

/// A value being rebuilt. The walk takes values by ownership rather than by `&mut`: an
/// embedded document can only be written back into its string once everything inside it
/// is done, and owning it on the same stack is what lets one work list do that.
enum Frame {
    /// Elements before `next` are done; `items[next]` is the one being redacted.
    Array { items: Vec<Value>, next: usize },
    /// `key` names the member being redacted.
    Object {
        rest: serde_json::map::IntoIter,
        done: Map<String, Value>,
        key: String,
    },
    /// A string holding JSON: `document` until it is walked, the text to keep if nothing
    /// inside is redacted, and the count before it, to tell whether anything was.
    Embedded {
        document: Option<Value>,
        original: String,
        redacted_before: usize,
    },
}

impl Redactor {
    /// Patterns from a comma-separated list such as `"password, secret, api_key"` or
    /// [`DEFAULT_REDACT_KEYS`]; entries that normalize to nothing are ignored.
    pub fn from_list(list: &str) -> Self {
        let patterns = list
            .split(',')
            .map(normalize)
            .filter(|pattern| !pattern.is_empty())
            .collect();
        Redactor { patterns }
    }

    /// Whether a member with this key is redacted.
    pub fn matches(&self, key: &str) -> bool {
        let key = normalize(key);
        self.patterns
            .iter()
            .any(|pattern| key.contains(pattern.as_str()))
    }

    /// Redacts `value` in place; returns how many values were replaced by [`REDACTED`]
    /// (those inside strings holding JSON included). Values that already are
    /// [`REDACTED`] are not counted, so redacting twice returns 0 the second time.
    pub fn redact(&self, value: &mut Value) -> usize {
        let mut redacted = 0;
        let mut stack: Vec<Frame> = Vec::new();
        let mut next = std::mem::take(value);
        loop {
            let mut finished = match next {
                Value::Array(mut items) => {
                    redacted += self.redact_pair(&mut items);
                    stack.push(Frame::Array { items, next: 0 });
                    None
                }
                Value::Object(mut map) => {
                    redacted += self.redact_members(&mut map);
                    stack.push(Frame::Object {
                        rest: map.into_iter(),
                        done: Map::new(),
                        key: String::new(),
                    });
                    None
                }
                Value::String(text) => match embedded_document(&text) {
                    Some(document) => {
                        stack.push(Frame::Embedded {
                            document: Some(document),
                            original: text,
                            redacted_before: redacted,
                        });
                        None
                    }
                    None => Some(Value::String(text)),
                },
                scalar => Some(scalar),
            };
            // Hand finished values to their parents until one remains to be walked, or the
            // root is done.
            next = loop {
                let Some(frame) = stack.last_mut() else {
                    *value = finished.unwrap_or(Value::Null);
                    return redacted;
                };
                let member = match frame {
                    Frame::Array { items, next } => {
                        if let Some(done) = finished.take() {
                            if let Some(slot) = items.get_mut(*next) {
                                *slot = done;
                            }
                            *next += 1;
                        }
                        items.get_mut(*next).map(std::mem::take)
                    }
                    Frame::Object { rest, done, key } => {
                        if let Some(value) = finished.take() {
                            done.insert(std::mem::take(key), value);
                        }
                        rest.next().map(|(k, v)| {
                            *key = k;
                            v
                        })
                    }
                    // First the document is walked, then it comes back finished.
                    Frame::Embedded { document, .. } => match finished.take() {
                        Some(done) => {
                            *document = Some(done);
                            None
                        }
                        None => document.take(),
                    },
                };
                match member {
                    Some(member) => break member,
                    None => finished = stack.pop().map(|frame| close(frame, redacted)),
                }
            };
        }
    }

    /// Redacts the second element of a `[name, value]` pair whose name matches.
    fn redact_pair(&self, items: &mut [Value]) -> usize {
        match items {
            [Value::String(name), value] if self.matches(name) => usize::from(replace(value)),
            _ => 0,
        }
    }

    /// Redacts the members of an object whose keys match, and the value members of a
    /// name/value object whose name matches.
    fn redact_members(&self, map: &mut Map<String, Value>) -> usize {
        let names_secret = map.iter().any(|(key, member)| {
            is_one_of(key, &NAME_MEMBERS) && member.as_str().is_some_and(|name| self.matches(name))
        });
        map.iter_mut()
            .filter(|(key, _)| {
                self.matches(key) || (names_secret && is_one_of(key, &VALUE_MEMBERS))
            })
            .map(|(_, member)| usize::from(replace(member)))
            .sum()
    }
}

/// The finished value of a frame whose members are all done.
fn close(frame: Frame, redacted: usize) -> Value {
    match frame {
        Frame::Array { items, .. } => Value::Array(items),
        Frame::Object { done, .. } => Value::Object(done),
        Frame::Embedded {
            document,
            original,
            redacted_before,
        } => match document {
            Some(document) if redacted > redacted_before => {
                Value::String(canonical_string(&document))
            }
            _ => Value::String(original),
        },
    }
}

/// Replaces `value` by [`REDACTED`]; false if it already was.
fn replace(value: &mut Value) -> bool {
    if value.as_str() == Some(REDACTED) {
        return false;
    }
    *value = Value::String(REDACTED.to_owned());
    true
}

fn is_one_of(key: &str, names: &[&str]) -> bool {
    names.iter().any(|name| key.eq_ignore_ascii_case(name))
}

/// The object or array that `text` holds as JSON, if it does. Only text starting with `{`
/// or `[` is parsed, so ordinary strings cost a glance.
fn embedded_document(text: &str) -> Option<Value> {
    let start = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if !start.starts_with(['{', '[']) || text == REDACTED {
        return None;
    }
    crate::parse(text).ok()
}

fn normalize(text: &str) -> String {
    text.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_without_case_or_separators() {
        let redactor = Redactor::from_list("password, api_key,token,,");
        for key in [
            "password",
            "PASSWORD",
            "db_password",
            "apiKey",
            "X-Api-Key",
            "refresh_token",
            "Token",
        ] {
            assert!(redactor.matches(key), "{key}");
        }
        for key in ["user", "api", "pass", "key"] {
            assert!(!redactor.matches(key), "{key}");
        }
    }

    #[test]
    fn keys_match_whatever_separates_or_spells_their_letters() {
        let redactor = Redactor::from_list("password,api_key");
        for key in [
            "pass.word",
            "pass\tword",
            "pass\nword",
            "pass word",
            "pass\u{a0}word",
            "pass\u{ad}word",
            "pass\u{200b}word",
            "ｐａｓｓｗｏｒｄ",
            "ＰＡＳＳ＿ＷＯＲＤ",
            "user.Password.hash",
            "api.key",
            "API:KEY",
            "ａｐｉ＿ｋｅｙ",
        ] {
            assert!(redactor.matches(key), "{key:?}");
        }
        // Patterns are normalized the same way.
        assert!(Redactor::from_list("ＰＡＳＳ-ＷＯＲＤ").matches("password"));
        assert!(Redactor::from_list(" --, .").patterns.is_empty());
        for key in ["pass", "passport", "apikes"] {
            assert!(!redactor.matches(key), "{key:?}");
        }
        // Out of scope, as documented: Cyrillic look-alikes of Latin letters.
        assert!(!redactor.matches("\u{440}\u{430}ssword"));
    }

    #[test]
    fn the_default_list_catches_secrets_and_spares_ordinary_keys() {
        let redactor = Redactor::from_list(DEFAULT_REDACT_KEYS);
        for key in [
            "password",
            "db_passwd",
            "PWD",
            "passphrase",
            "Contraseña",
            "client_secret",
            "refresh_token",
            "accessToken",
            "id_token",
            "jwt",
            "Authorization",
            "Proxy-Authorization",
            "auth_header",
            "Cookie",
            "Set-Cookie",
            "session_id",
            "signature",
            "bearer",
            "api_key",
            "X-API-KEY",
            "aws_access_key_id",
            "private_key",
            "ssh_key",
            "credentials",
            "csrf",
            "signing_key",
            "connection_string",
            "DATABASE_URL",
        ] {
            assert!(redactor.matches(key), "{key}");
        }
        for key in [
            "author",
            "monkey",
            "key",
            "keys",
            "auth",
            "passenger",
            "compass",
            "primary_key",
            "keyboard",
            "id",
            "name",
            "user",
            "username",
            "email",
            "description",
            "title",
            "created_at",
            "status",
        ] {
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
        assert_eq!(
            redactor.redact(&mut value),
            0,
            "redacting twice changes nothing"
        );
    }

    #[test]
    fn header_pairs_have_their_values_redacted() {
        let redactor = Redactor::from_list(DEFAULT_REDACT_KEYS);
        let mut value = json!({
            "headers": [["Authorization", "Bearer x"], ["Accept", "json"], ["X-Api-Key", {"a": [1]}]],
            "pair": ["cookie", "a=b"],
            "longer": ["token", "stays", "as is"],
            "numbers": [1, 2]
        });
        assert_eq!(redactor.redact(&mut value), 3);
        assert_eq!(
            value,
            json!({
                "headers": [["Authorization", "[REDACTED]"], ["Accept", "json"], ["X-Api-Key", "[REDACTED]"]],
                "pair": ["cookie", "[REDACTED]"],
                "longer": ["token", "stays", "as is"],
                "numbers": [1, 2]
            })
        );
    }

    #[test]
    fn name_value_objects_have_their_values_redacted() {
        let redactor = Redactor::from_list(DEFAULT_REDACT_KEYS);
        let mut value = json!([
            {"name": "Authorization", "value": "Bearer x"},
            {"Key": "db.password", "Val": "hunter2", "comment": "kept"},
            {"header": "Cookie", "content": "a=b"},
            {"field": "api_key", "value": {"nested": 1}, "content": [2]},
            {"name": "accept", "value": "json"},
            {"name": 7, "value": "no name, no match"},
            {"title": "password", "value": "not a name member"}
        ]);
        assert_eq!(redactor.redact(&mut value), 5);
        assert_eq!(
            value,
            json!([
                {"name": "Authorization", "value": "[REDACTED]"},
                {"Key": "db.password", "Val": "[REDACTED]", "comment": "kept"},
                {"header": "Cookie", "content": "[REDACTED]"},
                {"field": "api_key", "value": "[REDACTED]", "content": "[REDACTED]"},
                {"name": "accept", "value": "json"},
                {"name": 7, "value": "no name, no match"},
                {"title": "password", "value": "not a name member"}
            ])
        );
    }

    #[test]
    fn json_inside_strings_is_redacted_and_rewritten_canonically() {
        let redactor = Redactor::from_list(DEFAULT_REDACT_KEYS);
        let mut value = json!({
            "body": " {\"user\": \"ada\", \"password\": \"x\", \"n\": 1.0}",
            "headers": "[[\"Authorization\", \"Bearer x\"]]",
            "harmless": "{\"n\": 1.0, \"a\": []}",
            "not json": "{password}",
            "text": "[x] password"
        });
        assert_eq!(redactor.redact(&mut value), 2);
        assert_eq!(
            value,
            json!({
                "body": r#"{"n":1,"password":"[REDACTED]","user":"ada"}"#,
                "headers": r#"[["Authorization","[REDACTED]"]]"#,
                "harmless": "{\"n\": 1.0, \"a\": []}",
                "not json": "{password}",
                "text": "[x] password"
            })
        );
    }

    #[test]
    fn json_inside_json_inside_strings_is_redacted() {
        let redactor = Redactor::from_list("token");
        let innermost = json!({"token": "t", "keep": [1]}).to_string();
        let middle =
            json!({"inner": innermost, "list": [{"name": "token", "value": "u"}]}).to_string();
        let mut value = json!({"outer": middle, "plain": "[1, 2]"});
        assert_eq!(redactor.redact(&mut value), 2);
        let middle = crate::parse(value["outer"].as_str().unwrap()).unwrap();
        assert_eq!(
            middle["list"],
            json!([{"name": "token", "value": "[REDACTED]"}])
        );
        let innermost = crate::parse(middle["inner"].as_str().unwrap()).unwrap();
        assert_eq!(innermost, json!({"token": "[REDACTED]", "keep": [1]}));
        assert_eq!(value["plain"], "[1, 2]");
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        let redactor = Redactor::from_list(DEFAULT_REDACT_KEYS);
        let embedded =
            json!({"password": "x", "more": json!([["cookie", "c"]]).to_string()}).to_string();
        let mut value = json!({
            "secret": {"a": 1},
            "pairs": [["token", "x"]],
            "entries": [{"name": "jwt", "value": "y"}],
            "embedded": embedded,
            "kept": "[REDACTED]"
        });
        assert_eq!(redactor.redact(&mut value), 5);
        let once = value.clone();
        assert_eq!(redactor.redact(&mut value), 0);
        assert_eq!(value, once);
        assert_eq!(
            crate::canonical_string(&value),
            crate::canonical_string(&once)
        );
    }

    #[test]
    fn deep_values_do_not_overflow_the_stack() {
        let redactor = Redactor::from_list("token");
        let mut value =
            json!({"token": 1, "pair": ["token", 2], "entry": {"name": "token", "value": 3}});
        for _ in 0..100_000 {
            // Not json!([value]): the macro serializes its argument, recursively.
            value = Value::Array(vec![value]);
        }
        assert_eq!(redactor.redact(&mut value), 3);
        // serde_json's Drop recurses; leak the deep value instead of dropping it here.
        std::mem::forget(value);
    }

    #[test]
    fn deep_json_inside_strings_is_redacted() {
        let redactor = Redactor::from_list("token");
        let depth = crate::MAX_DEPTH - 1;
        let text = format!("{}{{\"token\":1}}{}", "[".repeat(depth), "]".repeat(depth));
        let mut value = Value::String(text);
        assert_eq!(redactor.redact(&mut value), 1);
        let expected = format!(
            "{}{{\"token\":\"[REDACTED]\"}}{}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert_eq!(value.as_str(), Some(expected.as_str()));
        // Too deep to parse: left alone rather than failing.
        let too_deep = format!(
            "{}{{\"token\":1}}{}",
            "[".repeat(depth + 1),
            "]".repeat(depth + 1)
        );
        let mut value = Value::String(too_deep.clone());
        assert_eq!(redactor.redact(&mut value), 0);
        assert_eq!(value.as_str(), Some(too_deep.as_str()));
    }
}
