//! Selective disclosure in audit events: personal values the event commits to by salted digests
//! instead of carrying them, so that its hash and signature verify with the values left out.
//!
//! The commitments are RFC 9901's (SD-JWT) applied to a chain event v1 object:
//! - a **disclosure** is the base64url (no padding) of a JSON array `[salt, name, value]` (an
//!   object member) or `[salt, value]` (an array element), the salt at least 128 random bits;
//! - its **digest** is the base64url (no padding) of SHA-256 over the disclosure's ASCII text;
//! - the signed event lists the digests of an object's hidden members in that object's `_sd`
//!   array, and a hidden array element as `{"...": digest}` in its place; `_sd_alg`, when
//!   present at the top, must be `sha-256`.
//!
//! `_sd` and `_sd_alg` are payload members like any other: the event hash covers them. The
//! disclosures travel beside the signed members in `_disclosures`, an array of disclosure strings
//! that the emitter leaves out of the hash; Cairn takes it out of the event before the event is
//! stored ([`take`]), so the stored text is exactly what was signed and the values live apart.
//! Without its disclosures an event still verifies; with them, [`check`] proves each value is
//! the one the signed event committed to.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::digest::Sha256Digest;

/// The member carrying an event's disclosures, outside its hash.
pub const DISCLOSURES: &str = "_disclosures";
/// The member listing the digests of an object's hidden members.
pub const SD: &str = "_sd";
/// The member naming the digest algorithm, at the top of the event.
pub const SD_ALG: &str = "_sd_alg";
/// The key of a hidden array element's digest.
pub const ELEMENT: &str = "...";

/// Why disclosures cannot be read or do not belong to their event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisclosureError {
    /// `_disclosures` is not an array of strings.
    #[error("`_disclosures` must be an array of strings")]
    NotAList,
    /// A disclosure is not base64url.
    #[error("disclosure {index} is not base64url (RFC 4648 §5, no padding)")]
    NotBase64 {
        /// Its place in `_disclosures`, from 0.
        index: usize,
    },
    /// A disclosure's decoded text is not a JSON array of two or three members.
    #[error("disclosure {index} is not a JSON array [salt, name, value] or [salt, value]")]
    Shape {
        /// Its place in `_disclosures`, from 0.
        index: usize,
    },
    /// A disclosure names a member Cairn or RFC 9901 reserves.
    #[error("disclosure {index} names the reserved member {name:?}")]
    Reserved {
        /// Its place in `_disclosures`, from 0.
        index: usize,
        /// The name.
        name: String,
    },
    /// The event names a digest algorithm other than SHA-256.
    #[error("`_sd_alg` is {0:?}; only \"sha-256\" is read")]
    Algorithm(String),
    /// `_sd` is not an array of strings, or `...` not a string.
    #[error("{at}: `_sd` must be an array of strings and `...` a string")]
    Digests {
        /// JSON pointer of the object.
        at: String,
    },
    /// The same digest appears twice in the event.
    #[error("the event commits to digest {0} twice")]
    RepeatedDigest(String),
    /// A disclosure whose digest the event does not commit to.
    #[error("disclosure {index} (digest {digest}) is not one the signed event commits to")]
    Unknown {
        /// Its place in `_disclosures`, from 0.
        index: usize,
        /// Its digest.
        digest: String,
    },
    /// Two disclosures with the same digest.
    #[error("disclosure {index} repeats digest {digest}")]
    Repeated {
        /// Its place in `_disclosures`, from 0.
        index: usize,
        /// Its digest.
        digest: String,
    },
    /// A disclosed member whose name the object already has in clear.
    #[error("disclosure {index} discloses {at}, which the event also carries in clear")]
    Clash {
        /// Its place in `_disclosures`, from 0.
        index: usize,
        /// JSON pointer of the member.
        at: String,
    },
    /// An object member's disclosure for an array element's digest, or the other way round.
    #[error("disclosure {index} has the wrong shape for the place of its digest ({at})")]
    Misplaced {
        /// Its place in `_disclosures`, from 0.
        index: usize,
        /// JSON pointer of the place.
        at: String,
    },
}

/// One disclosure, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Disclosure {
    /// The disclosure as issued (base64url text): its digest is over these exact bytes.
    pub encoded: String,
    /// Its digest (base64url SHA-256 of `encoded`).
    pub digest: String,
    /// The salt.
    pub salt: String,
    /// The member's name; `None` for an array element.
    pub name: Option<String>,
    /// The value.
    pub value: Value,
}

/// The digest of a disclosure's text: base64url (no padding) of its SHA-256.
pub fn digest_of(encoded: &str) -> String {
    B64URL.encode(Sha256Digest::of(encoded.as_bytes()).0)
}

impl Disclosure {
    /// Decodes the `index`th disclosure.
    pub fn parse(encoded: &str, index: usize) -> Result<Self, DisclosureError> {
        let bytes = B64URL.decode(encoded.trim_end_matches('=')).map_err(|_| DisclosureError::NotBase64 { index })?;
        let Ok(Value::Array(mut items)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(DisclosureError::Shape { index });
        };
        let (salt, name, value) = match items.len() {
            3 => {
                let value = items.pop().unwrap_or(Value::Null);
                let Some(Value::String(name)) = items.pop() else { return Err(DisclosureError::Shape { index }) };
                (items.pop(), Some(name), value)
            }
            2 => {
                let value = items.pop().unwrap_or(Value::Null);
                (items.pop(), None, value)
            }
            _ => return Err(DisclosureError::Shape { index }),
        };
        let Some(Value::String(salt)) = salt else { return Err(DisclosureError::Shape { index }) };
        if let Some(n) = &name {
            if n == SD || n == ELEMENT || n == SD_ALG || n == DISCLOSURES {
                return Err(DisclosureError::Reserved { index, name: n.clone() });
            }
        }
        Ok(Self { encoded: encoded.to_string(), digest: digest_of(encoded), salt, name, value })
    }

    /// A new disclosure of member `name` (or, with `None`, of an array element), written as
    /// compact JSON.
    pub fn new(salt: &str, name: Option<&str>, value: Value) -> Self {
        let array = match name {
            Some(n) => Value::Array(vec![Value::String(salt.into()), Value::String(n.into()), value.clone()]),
            None => Value::Array(vec![Value::String(salt.into()), value.clone()]),
        };
        let encoded = B64URL.encode(array.to_string());
        Self { digest: digest_of(&encoded), encoded, salt: salt.to_string(), name: name.map(str::to_string), value }
    }
}

/// Hides member `name` of `object` behind a disclosure with `salt`: the value leaves the
/// object, its digest joins the object's `_sd` (kept sorted, so the order says nothing). `None`
/// when the object has no such member.
pub fn conceal(object: &mut Map<String, Value>, name: &str, salt: &str) -> Option<Disclosure> {
    let value = object.remove(name)?;
    let disclosure = Disclosure::new(salt, Some(name), value);
    let list = object.entry(SD).or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = list {
        items.push(Value::String(disclosure.digest.clone()));
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    Some(disclosure)
}

/// Takes `_disclosures` out of an event object: its strings, or `None` when it has none.
pub fn take(event: &mut Map<String, Value>) -> Result<Option<Vec<String>>, DisclosureError> {
    let Some(list) = event.remove(DISCLOSURES) else { return Ok(None) };
    let Value::Array(items) = list else { return Err(DisclosureError::NotAList) };
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            _ => Err(DisclosureError::NotAList),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Where a digest sits: the object whose `_sd` lists it, or the array element it stands for.
#[derive(Clone, Debug)]
enum Place {
    /// In the `_sd` of the object at this pointer.
    Member(String),
    /// The array element at this pointer.
    Element(String),
}

fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Records where `digest` sits; a digest may appear once.
fn add(found: &mut BTreeMap<String, Place>, digest: &str, place: Place) -> Result<(), DisclosureError> {
    if found.insert(digest.to_string(), place).is_some() {
        return Err(DisclosureError::RepeatedDigest(digest.to_string()));
    }
    Ok(())
}

/// Every digest `value` (at pointer `at`) commits to, with its place.
fn find_digests(value: &Value, at: &str, found: &mut BTreeMap<String, Place>) -> Result<(), DisclosureError> {
    match value {
        Value::Object(o) => {
            if let Some(list) = o.get(SD) {
                let Value::Array(items) = list else { return Err(DisclosureError::Digests { at: at.into() }) };
                for d in items {
                    let Value::String(d) = d else { return Err(DisclosureError::Digests { at: at.into() }) };
                    add(found, d, Place::Member(at.to_string()))?;
                }
            }
            for (k, v) in o {
                if k != SD {
                    find_digests(v, &format!("{at}/{}", escape(k)), found)?;
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let here = format!("{at}/{i}");
                match v.as_object().filter(|o| o.len() == 1).and_then(|o| o.get(ELEMENT)) {
                    Some(Value::String(d)) => add(found, d, Place::Element(here))?,
                    Some(_) => return Err(DisclosureError::Digests { at: here }),
                    None => find_digests(v, &here, found)?,
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// A disclosure checked against its event: the JSON pointer its value takes in the event.
#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    /// The disclosure.
    pub disclosure: Disclosure,
    /// JSON pointer of the disclosed value in the revealed event (`/actor`, `/attrs/ip`).
    pub path: String,
}

/// Checks `disclosures` against the signed `event`: each must decode, be committed to by the
/// event (directly, or inside a value another disclosure reveals), once, with the shape of its
/// place, and must not disclose a member the object carries in clear. Returns each with the
/// pointer of its value, in the order given.
pub fn check(event: &Value, disclosures: &[String]) -> Result<Vec<Placed>, DisclosureError> {
    if let Some(alg) = event.get(SD_ALG) {
        if alg.as_str() != Some("sha-256") {
            return Err(DisclosureError::Algorithm(alg.to_string()));
        }
    }
    let mut places = BTreeMap::new();
    find_digests(event, "", &mut places)?;
    let decoded: Vec<Disclosure> =
        disclosures.iter().enumerate().map(|(i, d)| Disclosure::parse(d, i)).collect::<Result<_, _>>()?;
    let mut placed: Vec<Option<Placed>> = vec![None; decoded.len()];
    let mut seen = BTreeMap::new();
    for (i, d) in decoded.iter().enumerate() {
        if seen.insert(d.digest.clone(), i).is_some() {
            return Err(DisclosureError::Repeated { index: i, digest: d.digest.clone() });
        }
    }
    // A disclosed value may itself hide members: place disclosures until none is left to place.
    loop {
        let mut progress = false;
        for (i, d) in decoded.iter().enumerate() {
            if placed[i].is_some() {
                continue;
            }
            let Some(place) = places.get(&d.digest).cloned() else { continue };
            let path = match (&place, &d.name) {
                (Place::Member(object), Some(name)) => {
                    let path = format!("{object}/{}", escape(name));
                    let clear = event.pointer(object).and_then(Value::as_object).is_some_and(|o| o.contains_key(name));
                    if clear {
                        return Err(DisclosureError::Clash { index: i, at: path });
                    }
                    path
                }
                (Place::Element(path), None) => path.clone(),
                (Place::Member(at) | Place::Element(at), _) => {
                    return Err(DisclosureError::Misplaced { index: i, at: at.clone() });
                }
            };
            find_digests(&d.value, &path, &mut places)?;
            placed[i] = Some(Placed { disclosure: d.clone(), path });
            progress = true;
        }
        if !progress {
            break;
        }
    }
    placed
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.ok_or_else(|| DisclosureError::Unknown { index: i, digest: decoded[i].digest.clone() }))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn digests_are_those_of_rfc_9901() {
        // RFC 9901 §5.2.1 and §4.2: an object member and an array element.
        let d = Disclosure::parse("WyI2cU1RdlJMNWhhaiIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0", 0).unwrap();
        assert_eq!(d.digest, "uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY");
        assert_eq!((d.name.as_deref(), &d.value), (Some("family_name"), &json!("Möbius")));
        let e = Disclosure::parse("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0", 0).unwrap();
        assert_eq!(e.digest, "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs");
        assert_eq!((e.name, e.value), (None, json!("FR")));
    }

    fn event_with_secrets() -> (Value, Vec<String>) {
        let mut event =
            json!({"chain": "c", "seq": 0, "actor": "ann@example.com", "attrs": {"ip": "10.0.0.1", "n": 1}});
        let obj = event.as_object_mut().unwrap();
        let actor = conceal(obj, "actor", "c2FsdC1vbmUtMTIzNDU2Nw").unwrap();
        let attrs = obj.get_mut("attrs").and_then(Value::as_object_mut).unwrap();
        let ip = conceal(attrs, "ip", "c2FsdC10d28tMTIzNDU2Nw").unwrap();
        event["_sd_alg"] = json!("sha-256");
        (event, vec![ip.encoded, actor.encoded])
    }

    #[test]
    fn concealed_members_are_placed_back_by_their_disclosures() {
        let (event, disclosures) = event_with_secrets();
        assert!(!event.to_string().contains("ann@example.com") && !event.to_string().contains("10.0.0.1"));
        let placed = check(&event, &disclosures).unwrap();
        assert_eq!(placed[0].path, "/attrs/ip");
        assert_eq!(placed[0].disclosure.value, json!("10.0.0.1"));
        assert_eq!(placed[1].path, "/actor");
        // Withholding a disclosure is allowed: the value simply stays hidden.
        assert_eq!(check(&event, &disclosures[..1]).unwrap().len(), 1);
    }

    #[test]
    fn a_disclosure_the_event_does_not_commit_to_is_named() {
        let (event, mut disclosures) = event_with_secrets();
        let forged = Disclosure::new("c2FsdC1vbmUtMTIzNDU2Nw", Some("actor"), json!("mallory@example.com"));
        disclosures[1] = forged.encoded;
        assert!(matches!(check(&event, &disclosures), Err(DisclosureError::Unknown { index: 1, .. })));
        let repeated = vec![disclosures[0].clone(), disclosures[0].clone()];
        assert!(matches!(check(&event, &repeated), Err(DisclosureError::Repeated { index: 1, .. })));
        let mut clear = event.clone();
        clear["actor"] = json!("someone");
        let (_, good) = event_with_secrets();
        assert!(matches!(check(&clear, &good), Err(DisclosureError::Clash { index: 1, .. })));
        let mut other_alg = event.clone();
        other_alg["_sd_alg"] = json!("sha-512");
        assert!(matches!(check(&other_alg, &good), Err(DisclosureError::Algorithm(_))));
        assert!(matches!(check(&event, &["not base64!".into()]), Err(DisclosureError::NotBase64 { index: 0 })));
        let element = Disclosure::new("c2FsdA", None, json!(1));
        let mut with_element = event.clone();
        with_element["_sd"].as_array_mut().unwrap().push(json!(element.digest));
        assert!(matches!(check(&with_element, &[element.encoded]), Err(DisclosureError::Misplaced { .. })));
    }

    #[test]
    fn the_disclosures_member_is_taken_out() {
        let mut event = json!({"a": 1, "_disclosures": ["x", "y"]});
        let list = take(event.as_object_mut().unwrap()).unwrap();
        assert_eq!(list, Some(vec!["x".to_string(), "y".to_string()]));
        assert_eq!(event, json!({"a": 1}));
        assert_eq!(take(json!({"_disclosures": [1]}).as_object_mut().unwrap()), Err(DisclosureError::NotAList));
        assert_eq!(take(event.as_object_mut().unwrap()), Ok(None));
    }

    #[test]
    fn array_elements_and_nested_disclosures_are_placed() {
        let inner = Disclosure::new("c2FsdC0x", Some("city"), json!("Berlin"));
        let element = Disclosure::new("c2FsdC0y", None, json!("DE"));
        let outer = Disclosure::new("c2FsdC0z", Some("address"), json!({"_sd": [inner.digest]}));
        let event = json!({"_sd": [outer.digest], "nationalities": [{"...": element.digest}, "FR"]});
        let placed = check(&event, &[inner.encoded, element.encoded, outer.encoded]).unwrap();
        let paths: Vec<&str> = placed.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["/address/city", "/nationalities/0", "/address"]);
    }
}
