//! Typed reading of JSON documents read whole (SBOMs, scan reports): the first pass (what the
//! document says it is, with a clear reason when it is not JSON of that kind), and field errors
//! that name their path (`components[3].hashes[0]: …`).

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// The first pass: the bytes must be one JSON object, read into `T` (which keeps almost nothing).
pub(crate) fn probe<T: DeserializeOwned>(bytes: &[u8], format: &str) -> Result<T, String> {
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
pub(crate) fn strip_utf8_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Sorted, without repeats, `; `-separated.
pub(crate) fn join_sorted(mut items: Vec<String>) -> String {
    items.sort();
    items.dedup();
    items.join("; ")
}

/// Puts `name` in front of an error's path: `name: msg`, or `name.inner: msg` when `msg`
/// already names a path inside it (left as is when that path already starts with `name`).
pub(crate) fn at_path(name: &str, msg: &str) -> String {
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
pub(crate) fn in_field<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D, name: &str) -> Result<T, D::Error> {
    T::deserialize(d).map_err(|e| de::Error::custom(at_path(name, &e.to_string())))
}

/// Keeps every element.
pub(crate) fn keep_all<T>(_: &T) -> bool {
    true
}

/// An array (`null` reads as empty) whose element errors name the element (`name[i]`), keeping
/// only the elements `keep` accepts.
pub(crate) struct IndexedSeq<T> {
    pub(crate) name: &'static str,
    pub(crate) keep: fn(&T) -> bool,
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
pub(crate) fn indexed_seq<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
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
