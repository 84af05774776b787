//! Hashing an event stored in canonical form without building its JSON tree.
//!
//! An event's hash is the SHA-256 of the RFC 8785 canonical form of the event without `hash` and
//! `sig`. Emitters write events in that form, `hash` and `sig` included, and the lake keeps their
//! text as written; when the text is canonical, the form to hash is the text with those two
//! members cut out. [`hash`] reads the text once and recognises a conservative subset of canonical
//! JSON byte by byte: no whitespace; strings of printable ASCII with no escape but `\"` and `\\`;
//! member names without escapes, in strictly increasing order; integers of magnitude at most
//! 2^53 − 1, without `-0`; `true`, `false`, `null`; nesting at most 64 deep. Any other text (a
//! non-ASCII character, a fraction, a reordered member) is left to the generic canonicaliser,
//! which gives the same hash for every text accepted here (tested against it).

use cairn_evidence::digest::{Sha256Digest, Sha256Stream};
use cairn_evidence::tables::EventRef;

/// The largest integer whose canonical form is plainly its decimal digits (ECMAScript's
/// `Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// Deeper nesting is left to the generic path.
const MAX_DEPTH: usize = 64;

/// The event's hash when its stored text is canonical in the subset above and its chain fields
/// are exactly the row's; `None` otherwise (the generic path then decides, and names what is
/// wrong).
pub(crate) fn hash(row: &EventRef<'_>) -> Option<Sha256Digest> {
    let text = row.event_json.as_bytes();
    let mut reader = Reader { text, at: 0 };
    let mut members = Vec::with_capacity(16);
    reader.object(0, Some(&mut members))?;
    if reader.at != text.len() {
        return None;
    }
    let field = |name: &[u8]| members.iter().find(|m| &text[m.name.0..m.name.1] == name);
    // A string member's content, when it has no escape (so its text is its value).
    let plain = |name: &[u8]| {
        let m = field(name)?;
        let (start, end) = m.value;
        let value = &text[start..end];
        (value.len() >= 2 && value[0] == b'"' && !value.contains(&b'\\')).then(|| &value[1..value.len() - 1])
    };
    let same = plain(b"chain") == Some(row.chain.as_bytes())
        && plain(b"ts") == Some(row.ts.as_bytes())
        && plain(b"kid") == Some(row.kid.as_bytes())
        && plain(b"prev") == Some(row.prev.as_bytes())
        && plain(b"hash") == Some(row.hash.as_bytes())
        && plain(b"sig") == Some(row.sig.as_bytes())
        && field(b"seq").is_some_and(|m| is_number(&text[m.value.0..m.value.1], row.seq));
    if !same {
        return None;
    }
    let mut digest = Sha256Stream::new();
    digest.update(b"{");
    let kept = members.iter().filter(|m| !matches!(&text[m.name.0..m.name.1], b"hash" | b"sig"));
    for (i, m) in kept.enumerate() {
        if i > 0 {
            digest.update(b",");
        }
        digest.update(&text[m.span.0..m.span.1]);
    }
    digest.update(b"}");
    Some(digest.finish())
}

/// Whether `digits`, a value the reader took, is `n`: the reader takes integers in canonical form
/// only (no sign for a natural number, no leading zero), so equal digits are equal numbers.
fn is_number(digits: &[u8], n: u64) -> bool {
    digits.iter().all(u8::is_ascii_digit) && digits.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0')) == n
}

/// A top-level member: where its name's content, its whole text (`"name":value`) and its value
/// lie in the event's text.
struct Member {
    name: (usize, usize),
    span: (usize, usize),
    value: (usize, usize),
}

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// A string; returns its content's range and whether it holds an escape.
    fn string(&mut self) -> Option<((usize, usize), bool)> {
        self.eat(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(((start, self.at - 1), escaped));
                }
                b'\\' => {
                    // Canonical form escapes `"` and `\` so; anything else escaped is left to the
                    // generic path.
                    if !matches!(self.text.get(self.at + 1), Some(b'"' | b'\\')) {
                        return None;
                    }
                    escaped = true;
                    self.at += 2;
                }
                0x20..=0x7e => self.at += 1,
                _ => return None,
            }
        }
    }

    fn integer(&mut self) -> Option<()> {
        let negative = self.eat(b'-').is_some();
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let digits = &self.text[start..self.at];
        let leading_zero = digits.len() > 1 && digits[0] == b'0';
        if digits.is_empty() || leading_zero || digits.len() > 16 || (negative && digits == b"0") {
            return None;
        }
        let value = digits.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
        if value > MAX_SAFE_INTEGER || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.text[self.at..].starts_with(word).then(|| self.at += word.len())
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(depth + 1, None),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => None,
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(b'[')?;
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            self.value(depth)?;
            if self.eat(b',').is_none() {
                return self.eat(b']');
            }
        }
    }

    /// An object whose member names are in strictly increasing order (byte order, which for
    /// ASCII is the UTF-16 order RFC 8785 sorts by); the top level's members are listed.
    fn object(&mut self, depth: usize, mut members: Option<&mut Vec<Member>>) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        let mut previous: Option<&[u8]> = None;
        loop {
            let start = self.at;
            let (name, escaped) = self.string()?;
            let name_text = &self.text[name.0..name.1];
            if escaped || previous.is_some_and(|p| p >= name_text) {
                return None;
            }
            previous = Some(name_text);
            self.eat(b':')?;
            let value_start = self.at;
            self.value(depth)?;
            if let Some(list) = members.as_deref_mut() {
                list.push(Member { name, span: (start, self.at), value: (value_start, self.at) });
            }
            if self.eat(b',').is_none() {
                return self.eat(b'}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_evidence::canonical::canonical_string;
    use serde_json::Value;

    fn row_of(text: &str) -> EventRef<'_> {
        row_with(text, text)
    }

    /// `text`, with the fields the lake's columns would hold read from `fields`.
    fn row_with<'a>(fields: &str, text: &'a str) -> EventRef<'a> {
        let v: Value = serde_json::from_str(fields).unwrap();
        let s = |k: &str| -> &'static str { Box::leak(v[k].as_str().unwrap_or("").to_string().into_boxed_str()) };
        EventRef {
            chain: s("chain"),
            seq: v["seq"].as_u64().unwrap_or(0),
            ts: s("ts"),
            kid: s("kid"),
            prev: s("prev"),
            hash: s("hash"),
            sig: s("sig"),
            event_json: text,
            line: 1,
        }
    }

    /// The generic path: parse, drop `hash` and `sig`, canonicalise, hash.
    fn generic(text: &str) -> Sha256Digest {
        let mut v: Value = serde_json::from_str(text).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("hash");
        o.remove("sig");
        Sha256Digest::of(canonical_string(&v).unwrap().as_bytes())
    }

    const FIXTURES: [&str; 2] =
        [include_str!("../../fixtures/chain-v1/valid.jsonl"), include_str!("../../fixtures/chain-v1/invalid.jsonl")];

    #[test]
    fn canonical_events_hash_as_the_generic_canonicaliser_hashes_them() {
        let (mut fast, mut left) = (0, 0);
        for line in FIXTURES.iter().flat_map(|f| f.lines()).filter(|l| !l.trim().is_empty()) {
            let Ok(value) = serde_json::from_str::<Value>(line) else { continue };
            if !value.is_object() {
                continue;
            }
            // Each vector as written (spaced: never taken here), then in canonical form.
            assert_eq!(hash(&row_of(line)), None, "{line}");
            let canonical = canonical_string(&value).unwrap();
            match hash(&row_of(&canonical)) {
                Some(h) => {
                    assert_eq!(h, generic(&canonical), "{canonical}");
                    fast += 1;
                }
                None => left += 1,
            }
        }
        // Most vectors are in the subset; those with non-ASCII text are not.
        assert!(fast >= 30 && left >= 1, "{fast} taken, {left} left to the generic path");
    }

    #[test]
    fn text_outside_the_subset_is_left_to_the_generic_path() {
        let base = r#"{"a":[1,-2,true,false,null,{"x":"y"}],"chain":"c","hash":"h","kid":"k","prev":"p","seq":3,"sig":"s","ts":"t"}"#;
        let taken = hash(&row_of(base)).unwrap();
        assert_eq!(taken, generic(base));
        for (from, to) in [
            (r#""a":"#, r#" "a":"#),                  // whitespace
            (r#"{"x":"y"}"#, r#"{"y":"x","x":"y"}"#), // members out of order
            (r#"{"x":"y"}"#, r#"{"x":"y","x":"z"}"#), // a repeated name
            ("-2", "-2.0"),                           // a fraction
            ("-2", "-0"),
            ("-2", "1e3"),
            ("-2", "9007199254740992"), // above 2^53 - 1
            ("-2", "02"),
            (r#""y""#, r#""\u0079""#), // an escape canonical form does not use
            (r#""y""#, "\"\u{e9}\""),  // non-ASCII
            (r#""y""#, "\"a\tb\""),    // a raw control character
        ] {
            let changed = base.replacen(from, to, 1);
            assert_ne!(changed, base);
            assert_eq!(hash(&row_with(base, &changed)), None, "{changed}");
        }
        // Escaped quotes and backslashes are canonical, and hashed as such.
        let quoted = base.replacen(r#""y""#, r#""a\"b\\c""#, 1);
        assert_eq!(hash(&row_of(&quoted)), Some(generic(&quoted)));
        // A chain field that differs from the row's column: the generic path names it.
        let mut row = row_of(base);
        row.seq = 4;
        assert_eq!(hash(&row), None);
        // Trailing text, or not an object.
        assert_eq!(hash(&row_with(base, &format!("{base} "))), None);
        assert_eq!(hash(&row_with(base, "[1]")), None);
        let deep = format!("{}{}", "[".repeat(70), "]".repeat(70));
        assert_eq!(hash(&row_with(base, &base.replacen("true", &deep, 1))), None);
        let fine = format!("{}{}", "[".repeat(60), "]".repeat(60));
        let nested = base.replacen("true", &fine, 1);
        assert_eq!(hash(&row_of(&nested)), Some(generic(&nested)));
    }
}
