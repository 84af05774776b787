//! Framework requirement catalogs: SOC 2, ISO/IEC 27001:2022, GDPR and the HIPAA Security Rule.
//!
//! Each is a data file in `controls/catalog/frameworks/`, embedded at build time. Identifiers are
//! exactly the frameworks' own; titles and descriptions are Cairn's words (ISO's short control
//! titles excepted). Each file carries its version.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::catalog::CatalogError;

/// The built-in framework files, by key.
const BUILTIN: [(&str, &str); 4] = [
    ("soc2", include_str!("../catalog/frameworks/soc2.toml")),
    ("iso27001", include_str!("../catalog/frameworks/iso27001.toml")),
    ("gdpr", include_str!("../catalog/frameworks/gdpr.toml")),
    ("hipaa", include_str!("../catalog/frameworks/hipaa.toml")),
];

/// A group of requirements (a SOC 2 series, an ISO theme, a GDPR article, a HIPAA section).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Category, where the framework has one (SOC 2 trust services category).
    #[serde(default)]
    pub category: Option<String>,
}

/// One requirement.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Id as the framework writes it.
    pub id: String,
    /// Its group.
    pub group: String,
    /// ISO: `clause` or `annex_a`.
    #[serde(default)]
    pub kind: Option<String>,
    /// HIPAA: `standard`, `required` or `addressable`.
    #[serde(default)]
    pub implementation: Option<String>,
    /// Other spellings of the id that are accepted (HIPAA ids without the trailing `(i)`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Title.
    pub title: String,
    /// What an organisation must be able to show.
    pub description: String,
}

/// One framework's requirements.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// Key (`soc2`, `iso27001`, `gdpr`, `hipaa`).
    pub framework: String,
    /// Short name.
    pub name: String,
    /// Full title.
    pub title: String,
    /// Version of the framework text this list follows.
    pub version: String,
    /// Notes on identifiers and wording.
    pub note: String,
    /// Groups.
    #[serde(rename = "group")]
    pub groups: Vec<Group>,
    /// Requirements, in the framework's order.
    #[serde(rename = "requirement")]
    pub requirements: Vec<Requirement>,
}

impl Framework {
    /// Parses and checks a framework file: unique ids and aliases, declared groups.
    pub fn parse(text: &str, name: &str) -> Result<Self, CatalogError> {
        let f: Framework =
            toml::from_str(text).map_err(|e| CatalogError::Syntax { name: name.into(), message: e.to_string() })?;
        let bad = |id: &str, detail: String| CatalogError::Control { name: name.into(), id: id.into(), detail };
        let mut seen = BTreeMap::new();
        for r in &f.requirements {
            if !f.groups.iter().any(|g| g.id == r.group) {
                return Err(bad(&r.id, format!("group {:?} is not declared", r.group)));
            }
            for id in std::iter::once(&r.id).chain(&r.aliases) {
                if seen.insert(id.clone(), r.id.clone()).is_some() {
                    return Err(bad(id, "the id appears twice".into()));
                }
            }
            if let Some(i) = &r.implementation {
                if !["standard", "required", "addressable"].contains(&i.as_str()) {
                    return Err(bad(&r.id, format!("implementation {i:?} is not standard, required or addressable")));
                }
            }
        }
        Ok(f)
    }

    /// The requirement with this id or alias.
    pub fn requirement(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id || r.aliases.iter().any(|a| a == id))
    }
}

/// Every built-in framework, by key.
pub fn builtin() -> Result<BTreeMap<String, Framework>, CatalogError> {
    BUILTIN
        .iter()
        .map(|(key, text)| Framework::parse(text, &format!("frameworks/{key}.toml")).map(|f| ((*key).to_string(), f)))
        .collect()
}
