//! JSON Pointer (RFC 6901).

use crate::PatchError;

/// A parsed JSON Pointer, keeping the original text for error messages.
pub(crate) struct Pointer<'a> {
    pub text: &'a str,
    /// Unescaped reference tokens; empty for the whole document (`""`).
    pub tokens: Vec<String>,
}

impl<'a> Pointer<'a> {
    pub fn parse(text: &'a str) -> Result<Self, PatchError> {
        let invalid = |reason| PatchError::InvalidPointer {
            pointer: text.to_owned(),
            reason,
        };
        if text.is_empty() {
            return Ok(Pointer {
                text,
                tokens: Vec::new(),
            });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(invalid("it must be empty or start with \"/\""));
        };
        let tokens = rest
            .split('/')
            .map(|token| {
                unescape(token).ok_or_else(|| invalid("\"~\" must be followed by \"0\" or \"1\""))
            })
            .collect::<Result<_, _>>()?;
        Ok(Pointer { text, tokens })
    }

    /// Whether this pointer names a strict ancestor of `other`'s location.
    pub fn is_proper_prefix_of(&self, other: &Pointer<'_>) -> bool {
        self.tokens.len() < other.tokens.len() && other.tokens.starts_with(&self.tokens)
    }
}

/// `~1` → `/` and `~0` → `~`, in one left-to-right pass so that `~01`
/// becomes `~1` and not `/`.
fn unescape(token: &str) -> Option<String> {
    if !token.contains('~') {
        return Some(token.to_owned());
    }
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Appends `/token` to a pointer, escaping `~` and `/`.
pub(crate) fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            _ => pointer.push(c),
        }
    }
}

/// How a reference token addresses an array element.
pub(crate) enum ArrayIndex {
    /// A decimal index. Indexes too large for `usize` become `usize::MAX`,
    /// which is out of bounds for every array.
    At(usize),
    /// `-`: the (nonexistent) element after the last one.
    End,
}

/// Interprets `token` as an array index; `None` if it is not one (RFC 6901
/// allows only `0` or digits without a leading zero, or `-`).
pub(crate) fn array_index(token: &str) -> Option<ArrayIndex> {
    if token == "-" {
        return Some(ArrayIndex::End);
    }
    let bytes = token.as_bytes();
    let well_formed = match bytes.first() {
        Some(b'0') => bytes.len() == 1,
        Some(b'1'..=b'9') => bytes.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    well_formed.then(|| ArrayIndex::At(token.parse().unwrap_or(usize::MAX)))
}
