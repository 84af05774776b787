//! How an artefact file is cut into records: a `.jsonl` file is one record per non-blank line, any
//! other file is one record. The collector cuts files this way when it records them; the verifier
//! finds a row's record again in its stored blob by the record's digest.

use crate::digest::sha256_hex;

/// One record of a file: its 1-based line, its byte offset, and its bytes (without the line end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Line number (1 for a whole file).
    pub line: u64,
    /// Byte offset of its first byte.
    pub offset: u64,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// The records of the file at `key` holding `bytes`.
pub fn records<'a>(key: &str, bytes: &'a [u8]) -> Vec<Record<'a>> {
    if !key.to_ascii_lowercase().ends_with(".jsonl") {
        return vec![Record { line: 1, offset: 0, bytes }];
    }
    let mut out = Vec::new();
    let mut offset = 0u64;
    for (i, raw) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let len = raw.len() as u64;
        let trimmed = raw.strip_suffix(b"\n").unwrap_or(raw);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if !trimmed.iter().all(u8::is_ascii_whitespace) {
            out.push(Record { line: i as u64 + 1, offset, bytes: trimmed });
        }
        offset += len;
    }
    out
}

/// Finds the record a row was collected from inside its blob: the whole blob, or the line whose
/// digest the row names. `None` when neither matches (the blob is not the one collected).
pub fn find_record<'a>(blob: &'a [u8], object_key: &str, record_sha256: &str) -> Option<&'a [u8]> {
    records(object_key, blob).into_iter().map(|r| r.bytes).find(|b| sha256_hex(b) == record_sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_lines_of_jsonl_files() {
        let text = b"{\"a\":1}\n\n{\"b\":2}\r\n";
        let r = records("x.intoto.jsonl", text);
        assert_eq!(r.iter().map(|r| (r.line, r.offset)).collect::<Vec<_>>(), vec![(1, 0), (3, 9)]);
        assert_eq!(find_record(text, "x.intoto.jsonl", &sha256_hex(b"{\"b\":2}")), Some(&b"{\"b\":2}"[..]));
        assert_eq!(records("x.json", text).len(), 1);
    }
}
