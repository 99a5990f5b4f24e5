//! Spec files saved by Windows tools: UTF-8 with a byte order mark (Notepad) and UTF-16 with
//! one (Windows PowerShell 5.1 `devlic export > devlic.yaml`). Both are decoded to plain UTF-8
//! before parsing, so line and column numbers count the characters the editor shows.

use std::borrow::Cow;

/// A file starts with a UTF-16 byte order mark but its content is not valid UTF-16 (an odd
/// number of bytes or an unpaired surrogate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the file starts with a UTF-16 byte order mark but is not valid UTF-16")]
pub struct Utf16Error;

/// The file's bytes as UTF-8 without a byte order mark: UTF-16 LE or BE with a BOM is decoded,
/// a UTF-8 BOM is dropped, anything else is returned unchanged (and borrowed), to be checked
/// as UTF-8 by the loader. Callers that show source lines (the CLI) store the result as the
/// [`crate::SourceFile`] bytes, so error spans point into the same text that was parsed.
pub fn to_utf8(bytes: &[u8]) -> Result<Cow<'_, [u8]>, Utf16Error> {
    match bytes {
        [0xef, 0xbb, 0xbf, rest @ ..] => Ok(Cow::Borrowed(rest)),
        [0xff, 0xfe, rest @ ..] => decode_utf16(rest, u16::from_le_bytes).map(Cow::Owned),
        [0xfe, 0xff, rest @ ..] => decode_utf16(rest, u16::from_be_bytes).map(Cow::Owned),
        _ => Ok(Cow::Borrowed(bytes)),
    }
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<Vec<u8>, Utf16Error> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Utf16Error);
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    let text: String = char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| Utf16Error)?;
    Ok(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian {
            vec![0xfe, 0xff]
        } else {
            vec![0xff, 0xfe]
        };
        for unit in text.encode_utf16() {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn decodes_utf16_both_ways_and_drops_a_utf8_bom() {
        let text = "kind: Gerätegruppe 日本\n";
        assert_eq!(to_utf8(&utf16(text, false)).unwrap(), text.as_bytes());
        assert_eq!(to_utf8(&utf16(text, true)).unwrap(), text.as_bytes());
        let mut bom = vec![0xef, 0xbb, 0xbf];
        bom.extend(text.as_bytes());
        assert_eq!(to_utf8(&bom).unwrap(), text.as_bytes());
        assert!(matches!(to_utf8(b"plain"), Ok(Cow::Borrowed(b"plain"))));
    }

    #[test]
    fn broken_utf16_is_an_error() {
        assert_eq!(to_utf8(&[0xff, 0xfe, 0x41]), Err(Utf16Error));
        assert_eq!(to_utf8(&[0xff, 0xfe, 0x00, 0xd8]), Err(Utf16Error));
    }
}
