//! What both SBOM formats share: the strict-JSON check and the rows it pushes, the first pass
//! (what the document says it is), and field errors that name their path.

use std::fmt;

use cairn_evidence::artefacts::{ArtefactSet, SbomComponentRow, SbomRow};
use cairn_evidence::tables::Provenance;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// What the report of an SBOM source counts.
pub(super) const UNIT: &str = "SBOMs";

/// A format's parser: the document's bytes, its blob key and its provenance in; its rows out.
pub(super) type ParseDocument = fn(&[u8], &str, &Provenance) -> Result<(SbomRow, Vec<SbomComponentRow>), String>;

/// Checks that a document is strict JSON (no repeated keys, bounded nesting), then parses it
/// with `parse` into the sink's rows: one SBOM and its components.
pub(super) fn push_rows(
    bytes: &[u8],
    blob: &str,
    provenance: &Provenance,
    rows: &mut ArtefactSet,
    parse: ParseDocument,
) -> Result<u64, String> {
    cairn_evidence::json::check_strict(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let (sbom, components) = parse(bytes, blob, provenance)?;
    rows.sboms.push(sbom);
    rows.components.extend(components);
    Ok(1)
}

/// The first pass: the bytes must be one JSON object, read into `T` (which keeps almost nothing).
pub(super) fn probe<T: DeserializeOwned>(bytes: &[u8], format: &str) -> Result<T, String> {
    let article = if format.starts_with('S') { "an" } else { "a" };
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(format!("not {article} {format} document: the input is empty")),
        Some(b'<') => {
            return Err(format!("not {article} {format} JSON document: it looks like XML, which is not supported"))
        }
        Some(b'{') => {}
        Some(_) => return Err(format!("not {article} {format} document: the input is not a JSON object")),
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => format!(
            "not {article} {format} document: the JSON is truncated (it ends early at line {} column {})",
            e.line(),
            e.column()
        ),
        serde_json::error::Category::Syntax => format!("not {article} {format} document: invalid JSON: {e}"),
        serde_json::error::Category::Data | serde_json::error::Category::Io => {
            format!("not {article} {format} document: {e}")
        }
    })
}

/// Drops a leading UTF-8 byte-order mark, which some Windows tools write.
pub(super) fn strip_utf8_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// `group/name` when there is a group, else `name`.
pub(super) fn qualified_name(group: Option<&str>, name: &str) -> String {
    match group.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => format!("{g}/{name}"),
        None => name.to_string(),
    }
}

/// `ALG:hex`, the algorithm as written and the hex lowercased.
pub(super) fn hash_text(alg: &str, hex: &str) -> String {
    format!("{}:{}", alg.trim(), hex.trim().to_ascii_lowercase())
}

/// Sorted, without repeats, `; `-separated.
pub(super) fn join_sorted(mut items: Vec<String>) -> String {
    items.sort();
    items.dedup();
    items.join("; ")
}

/// Puts `name` in front of an error's path: `name: msg`, or `name.inner: msg` when `msg`
/// already names a path inside it (left as is when that path already starts with `name`).
pub(super) fn at_path(name: &str, msg: &str) -> String {
    if let Some((head, _)) = msg.split_once(": ") {
        let is_path = head.starts_with(|c: char| c.is_ascii_alphabetic() || c == '$' || c == '@')
            && head.chars().all(|c| c.is_ascii_alphanumeric() || "_$@.[]-".contains(c));
        if is_path {
            let rest = head.strip_prefix(name);
            if rest.is_some_and(|r| r.is_empty() || r.starts_with('[') || r.starts_with('.')) {
                return msg.to_string();
            }
            return format!("{name}.{msg}");
        }
    }
    format!("{name}: {msg}")
}

/// Deserializes a value, naming the field in its errors.
pub(super) fn in_field<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D, name: &str) -> Result<T, D::Error> {
    T::deserialize(d).map_err(|e| de::Error::custom(at_path(name, &e.to_string())))
}

/// Keeps every element.
pub(super) fn keep_all<T>(_: &T) -> bool {
    true
}

/// An array (`null` reads as empty) whose element errors name the element (`name[i]`), keeping
/// only the elements `keep` accepts.
pub(super) struct IndexedSeq<T> {
    pub(super) name: &'static str,
    pub(super) keep: fn(&T) -> bool,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for IndexedSeq<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        let name = self.name;
        d.deserialize_seq(self).map_err(|e| de::Error::custom(at_path(name, &e.to_string())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        let mut i = 0usize;
        loop {
            match seq.next_element::<T>() {
                Ok(Some(v)) => {
                    if (self.keep)(&v) {
                        out.push(v);
                    }
                }
                Ok(None) => return Ok(out),
                Err(e) => return Err(de::Error::custom(at_path(&format!("{}[{i}]", self.name), &e.to_string()))),
            }
            i += 1;
        }
    }
}

/// Reads an array field with [`IndexedSeq`].
pub(super) fn indexed_seq<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    name: &'static str,
    keep: fn(&T) -> bool,
) -> Result<Vec<T>, D::Error> {
    d.deserialize_option(IndexedSeq { name, keep })
}

/// `fn f(d) -> Result<T, _>` reading field `name` with [`in_field`].
macro_rules! field_fns {
    ($($f:ident: $ty:ty = $name:literal;)*) => {$(
        fn $f<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            in_field(d, $name)
        }
    )*};
}

/// `fn f(d) -> Result<Vec<T>, _>` reading array field `name` with [`indexed_seq`].
macro_rules! seq_fns {
    ($($f:ident: $ty:ty = $name:literal $(, keep $keep:path)?;)*) => {$(
        fn $f<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<$ty>, D::Error> {
            #[allow(unused_mut, unused_assignments)]
            let mut keep: fn(&$ty) -> bool = keep_all;
            $(keep = $keep;)?
            indexed_seq(d, $name, keep)
        }
    )*};
}

pub(crate) use field_fns;
pub(crate) use seq_fns;
