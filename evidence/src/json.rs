//! Strict JSON checks applied to every artefact before it is parsed.
//!
//! `serde_json` keeps the last of two equal keys, so `{"sig":"a","sig":"b"}` would be read
//! differently by two tools; such a document is refused. Nesting deeper than 128 levels is refused
//! by `serde_json` itself, so a nesting bomb is an error, not a stack overflow.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Refuses a document that is not JSON, has trailing data, or repeats a key in one object. The
/// error names the repeated key and the line and column after it.
pub fn check_strict(bytes: &[u8]) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Strict.deserialize(&mut de)?;
    de.end()
}

/// Walks any value, refusing repeated keys.
#[derive(Clone, Copy)]
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !seen.insert(key.clone().into_owned()) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_refused_with_their_place() {
        assert!(check_strict(br#"{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}"#).is_ok());
        let err = check_strict(b"{\"payload\":\"x\",\n \"payload\":\"y\"}").unwrap_err().to_string();
        assert!(err.contains("duplicate key \"payload\"") && err.contains("line 2"), "{err}");
        let err = check_strict(br#"[{"k":{"sig":1,"sig":2}}]"#).unwrap_err().to_string();
        assert!(err.contains("\"sig\""), "{err}");
    }

    #[test]
    fn nesting_bombs_and_trailing_data_are_refused() {
        let bomb = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = check_strict(bomb.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("recursion limit"), "{err}");
        assert!(check_strict(b"{} {}").is_err());
        assert!(check_strict(br#"{"a":"#).is_err());
    }
}
