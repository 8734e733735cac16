//! Slack's form bodies (`application/x-www-form-urlencoded`: slash commands, and the
//! interactivity POST's one `payload` field), decoded strictly.
//!
//! `serde_urlencoded` decodes percent-encoded bytes that are not UTF-8 lossily, so `text=%FF%FE`
//! would be read as two U+FFFD characters and drawn as a poster. Slack always sends UTF-8, so such
//! a body is malformed and is refused here, naming the field, before any field is read. This module
//! knows the form encoding only; what the fields mean belongs to its callers.

use serde::de::DeserializeOwned;

/// Why a form body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("form field `{field}` is not valid UTF-8")]
    NotUtf8 { field: String },
    #[error(transparent)]
    Fields(#[from] serde_urlencoded::de::Error),
}

/// Decodes a form body into `T`, refusing any name or value that is not UTF-8 once decoded.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FormError> {
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let name = String::from_utf8(percent_decode(name)).map_err(|_| FormError::NotUtf8 {
            field: "(a field name)".into(),
        })?;
        if std::str::from_utf8(&percent_decode(value)).is_err() {
            // The name is echoed to the caller, so it is kept short.
            let field = name.chars().take(40).collect();
            return Err(FormError::NotUtf8 { field });
        }
    }
    Ok(serde_urlencoded::from_bytes(body)?)
}

/// Percent-decoding exactly as the form encoding (and so `serde_urlencoded`) does it: `+` is a
/// space, `%` with two hex digits is that byte, any other `%` is itself.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                input.get(i + 1).and_then(|b| hex(*b)),
                input.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(hi), Some(lo)) => {
                    // Two hex digits are at most 0xFF, so the cast cannot truncate.
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    type Fields = BTreeMap<String, String>;

    #[test]
    fn utf8_forms_decode_as_serde_urlencoded_does() {
        for body in [
            "a=1&b=two+words",
            "text=%E2%80%9CCa+va%E2%80%9D+%C3%A9&x=%",
            "text=100%25&y=%zz",
            "empty=&novalue&&",
        ] {
            let strict: Fields = decode(body.as_bytes()).unwrap();
            let loose: Fields = serde_urlencoded::from_bytes(body.as_bytes()).unwrap();
            assert_eq!(strict, loose, "{body}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_with_the_field_named() {
        for (body, field) in [
            (&b"command=%2Fposter&text=%ff%fe%00"[..], "text"),
            (b"text=%C3", "text"),
            (b"text=caf\xe9", "text"),
            (b"%FF=1", "(a field name)"),
        ] {
            match decode::<Fields>(body) {
                Err(FormError::NotUtf8 { field: f }) => assert_eq!(f, field),
                other => panic!("{body:?} gave {other:?}"),
            }
        }
    }
}
