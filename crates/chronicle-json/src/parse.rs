//! An iterative JSON parser producing `serde_json::Value`.
//!
//! serde_json's own parser recurses once per nesting level and is capped at
//! 128 levels; turning the cap off would let hostile input overflow the
//! stack. Here open containers live on a heap-allocated stack instead, and
//! nesting beyond [`MAX_DEPTH`] is rejected before it is built, so that the
//! resulting value can also be cloned and dropped (both recursive in
//! serde_json) safely.
//!
//! It also sidesteps a quirk of serde_json's `arbitrary_precision` mode,
//! where an object whose first key is `"$serde_json::private::Number"` is
//! turned into a number.

use std::str::FromStr;

use serde_json::{Map, Number, Value};

use crate::{number, JsonError, MAX_DEPTH};

/// Parses JSON text (RFC 8259) into a value.
///
/// Duplicate object keys are allowed and the last one wins, as in
/// PostgreSQL's `jsonb`. Whitespace around the value is ignored; anything
/// else after it is an error. Nesting deeper than [`MAX_DEPTH`] is rejected
/// with [`JsonError::TooDeep`]. Never panics and uses constant stack.
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let mut parser = Parser { text, pos: 0 };
    let value = parser.parse_document()?;
    parser.skip_whitespace();
    if parser.pos < text.len() {
        return Err(parser.error("unexpected characters after the JSON value"));
    }
    Ok(value)
}

/// A container whose members are still being parsed.
enum Open {
    Array(Vec<Value>),
    /// The map so far and the key of the member being parsed.
    Object(Map<String, Value>, String),
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn parse_document(&mut self) -> Result<Value, JsonError> {
        let mut open: Vec<Open> = Vec::new();
        loop {
            self.skip_whitespace();
            let mut value = match self.peek() {
                Some(b'[') => {
                    self.open_container(open.len())?;
                    if self.eat(b']') {
                        Value::Array(Vec::new())
                    } else {
                        open.push(Open::Array(Vec::new()));
                        continue;
                    }
                }
                Some(b'{') => {
                    self.open_container(open.len())?;
                    if self.eat(b'}') {
                        Value::Object(Map::new())
                    } else {
                        let key = self.parse_key("expected a string key or '}'")?;
                        open.push(Open::Object(Map::new(), key));
                        continue;
                    }
                }
                Some(b'"') => Value::String(self.parse_string()?),
                Some(b'-' | b'0'..=b'9') => self.parse_number()?,
                Some(b't') => self.parse_literal("true", Value::Bool(true))?,
                Some(b'f') => self.parse_literal("false", Value::Bool(false))?,
                Some(b'n') => self.parse_literal("null", Value::Null)?,
                Some(_) => return Err(self.error("expected a JSON value")),
                None => return Err(self.error("unexpected end of input, expected a JSON value")),
            };

            // Store the finished value in its container; every container
            // this closes is itself a finished value for the one around it.
            loop {
                let Some(container) = open.last_mut() else {
                    return Ok(value);
                };
                self.skip_whitespace();
                let closed = match container {
                    Open::Array(items) => {
                        items.push(value);
                        match self.next_byte_if(b",]") {
                            Some(b',') => false,
                            Some(_) => true,
                            None => return Err(self.error("expected ',' or ']'")),
                        }
                    }
                    Open::Object(map, key) => {
                        map.insert(std::mem::take(key), value);
                        match self.next_byte_if(b",}") {
                            Some(b',') => {
                                *key = self.parse_key("expected a string key")?;
                                false
                            }
                            Some(_) => true,
                            None => return Err(self.error("expected ',' or '}'")),
                        }
                    }
                };
                if !closed {
                    break; // parse the next member
                }
                value = match open.pop() {
                    Some(Open::Array(items)) => Value::Array(items),
                    Some(Open::Object(map, _)) => Value::Object(map),
                    None => return Err(self.error("internal parser error")),
                };
            }
        }
    }

    /// Consumes `[` or `{`, refusing to open more than [`MAX_DEPTH`] containers.
    fn open_container(&mut self, already_open: usize) -> Result<(), JsonError> {
        if already_open >= MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(())
    }

    /// Parses `"key" :` (with surrounding whitespace).
    fn parse_key(&mut self, expected: &'static str) -> Result<String, JsonError> {
        self.skip_whitespace();
        if self.peek() != Some(b'"') {
            return Err(self.error(expected));
        }
        let key = self.parse_string()?;
        self.skip_whitespace();
        if !self.eat(b':') {
            return Err(self.error("expected ':'"));
        }
        Ok(key)
    }

    fn parse_literal(&mut self, word: &'static str, value: Value) -> Result<Value, JsonError> {
        if self.rest().starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn parse_number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        let len = self
            .rest()
            .iter()
            .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .count();
        let text = self.text.get(start..start + len).unwrap_or_default();
        if !number::is_valid(text) {
            return Err(self.error("invalid number"));
        }
        let number = Number::from_str(text).map_err(|_| self.error("invalid number"))?;
        self.pos += len;
        Ok(Value::Number(number))
    }

    /// Parses a string literal starting at its opening quote.
    fn parse_string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let run = self
                .rest()
                .iter()
                .take_while(|&&b| b != b'"' && b != b'\\' && b >= 0x20)
                .count();
            // The run ends at an ASCII byte or the end, so both ends are
            // character boundaries.
            out.push_str(self.text.get(self.pos..self.pos + run).unwrap_or_default());
            self.pos += run;
            match self.next_byte() {
                Some(b'"') => return Ok(out),
                Some(b'\\') => self.parse_escape(&mut out)?,
                Some(_) => {
                    return Err(self.error_before("control characters in strings must be escaped"))
                }
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// Parses the part of an escape sequence after the backslash.
    fn parse_escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let c = match self.next_byte() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let unit = self.parse_hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        if !self.rest().starts_with(b"\\u") {
                            return Err(self.error("unpaired UTF-16 surrogate in \\u escape"));
                        }
                        self.pos += 2;
                        let low = self.parse_hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(self.error("unpaired UTF-16 surrogate in \\u escape"));
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    0xDC00..=0xDFFF => {
                        return Err(self.error("unpaired UTF-16 surrogate in \\u escape"))
                    }
                    _ => unit,
                };
                char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))?
            }
            _ => return Err(self.error_before("invalid escape sequence")),
        };
        out.push(c);
        Ok(())
    }

    fn parse_hex4(&mut self) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| self.error("invalid \\u escape: expected 4 hexadecimal digits"))?;
            code = code * 16 + digit;
            self.pos += 1;
        }
        Ok(code)
    }

    fn skip_whitespace(&mut self) {
        self.pos += self
            .rest()
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .count();
    }

    fn rest(&self) -> &[u8] {
        self.text.as_bytes().get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.rest().first().copied()
    }

    fn next_byte(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    /// Consumes and returns the next byte if it is one of `expected`.
    fn next_byte_if(&mut self, expected: &[u8]) -> Option<u8> {
        let byte = self.peek().filter(|b| expected.contains(b))?;
        self.pos += 1;
        Some(byte)
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// An error located at the current position.
    fn error(&self, message: &'static str) -> JsonError {
        self.error_at(self.pos, message)
    }

    /// An error located at the byte just consumed.
    fn error_before(&self, message: &'static str) -> JsonError {
        self.error_at(self.pos.saturating_sub(1), message)
    }

    fn error_at(&self, pos: usize, message: &'static str) -> JsonError {
        let before = self.text.as_bytes().get(..pos).unwrap_or_default();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line_text = before.get(line_start..).unwrap_or_default();
        JsonError::Syntax {
            line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
            // Count characters, not bytes: skip UTF-8 continuation bytes.
            column: 1 + line_text.iter().filter(|&&b| b & 0xC0 != 0x80).count(),
            message,
        }
    }
}
