//! `cairn.toml`: parsed raw (serde, unknown keys are errors naming the key and line), then
//! validated once into [`Config`], which is all the rest of the program sees.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use cairn_collector::SourceConfig;
use cairn_evidence::classification::Classification;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    store: RawStore,
    signing: RawSigning,
    trust: RawTrust,
    /// Kept as spanned tables: each is read by its `type` afterwards, and errors point at the
    /// line of the key at fault.
    #[serde(default, rename = "source")]
    sources: Vec<toml::Spanned<toml::Table>>,
    #[serde(default)]
    portal: RawPortal,
    #[serde(default)]
    bundles: RawOut,
    #[serde(default)]
    controls: RawControls,
    #[serde(default)]
    supply: RawSupply,
    #[serde(default)]
    privacy: RawPrivacy,
    #[serde(default, rename = "job")]
    jobs: Vec<crate::schedule::RawJob>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSupply {
    register: Option<PathBuf>,
    threat_model_review_days: Option<u32>,
    policy_review_days: Option<u32>,
    vulnerability_gate: Option<cairn_verifier::vulnerabilities::Gate>,
    test_quarantine_days: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    /// Table name → classification, over the built-in ones.
    #[serde(default)]
    tables: BTreeMap<String, String>,
    /// The secret of the keyed pseudonyms of personal values.
    pseudonym_key: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawControls {
    #[serde(default)]
    catalog: Vec<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigning {
    /// `file` (the default) or `pkcs11`.
    backend: Option<String>,
    /// The key file (`file`).
    key: Option<PathBuf>,
    public_key: PathBuf,
    /// The token's module, label, the key pair's label and the PIN's variable (`pkcs11`).
    module: Option<PathBuf>,
    token: Option<String>,
    key_label: Option<String>,
    pin_env: Option<String>,
    /// The key, its region and the endpoint (`aws-kms`).
    key_id: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
}

impl RawSigning {
    /// Where the key is held, checked: the backend's settings present, no other backend's.
    fn backend(self, abs: impl Fn(&Path) -> PathBuf) -> Result<SigningBackend> {
        let backend = self.backend.as_deref().unwrap_or("file");
        let settings = [
            ("key", self.key.is_some(), "file"),
            ("module", self.module.is_some(), "pkcs11"),
            ("token", self.token.is_some(), "pkcs11"),
            ("key_label", self.key_label.is_some(), "pkcs11"),
            ("pin_env", self.pin_env.is_some(), "pkcs11"),
            ("key_id", self.key_id.is_some(), "aws-kms"),
            ("region", self.region.is_some(), "aws-kms"),
            ("endpoint", self.endpoint.is_some(), "aws-kms"),
        ];
        if let Some((name, _, of)) = settings.iter().find(|(_, set, of)| *set && *of != backend) {
            bail!("[signing] {name} is a setting of backend = \"{of}\", not of backend = \"{backend}\"");
        }
        let need = |v: Option<String>, what: &str| {
            v.ok_or_else(|| anyhow::anyhow!("[signing] backend = \"{backend}\" needs {what}"))
        };
        match backend {
            "file" => {
                let key = self
                    .key
                    .ok_or_else(|| anyhow::anyhow!("[signing] needs key, the signing key file (or another backend)"))?;
                Ok(SigningBackend::File(abs(&key)))
            }
            "pkcs11" => {
                let module = self.module.ok_or_else(|| {
                    anyhow::anyhow!("[signing] backend = \"pkcs11\" needs module, the token's PKCS#11 library")
                })?;
                Ok(SigningBackend::Pkcs11(cairn_signer::Pkcs11Config {
                    module: abs(&module),
                    token: need(self.token, "token, the token's label")?,
                    key_label: need(self.key_label, "key_label, the label of the key pair in the token")?,
                    pin_env: self.pin_env.unwrap_or_else(|| cairn_signer::DEFAULT_PIN_ENV.to_string()),
                }))
            }
            "aws-kms" => {
                let key = cairn_signer::AwsKmsConfig {
                    key_id: need(self.key_id, "key_id, the KMS key's id, ARN or alias")?,
                    region: need(self.region.or_else(|| std::env::var("AWS_REGION").ok()), "region (or $AWS_REGION)")?,
                    endpoint: self.endpoint,
                };
                key.endpoint_url().map_err(|e| anyhow::anyhow!("[signing] {e}"))?;
                Ok(SigningBackend::AwsKms(key))
            }
            other => bail!("[signing] backend = {other:?}: the backends are \"file\", \"pkcs11\" and \"aws-kms\""),
        }
    }
}

/// Where Cairn's signing key is held (`[signing]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigningBackend {
    /// A PKCS#8 PEM file, mode 0600 (`key`).
    File(PathBuf),
    /// A key pair in a PKCS#11 token (`backend = "pkcs11"`).
    Pkcs11(cairn_signer::Pkcs11Config),
    /// A key in AWS KMS (`backend = "aws-kms"`).
    AwsKms(cairn_signer::AwsKmsConfig),
}

impl SigningBackend {
    /// Where the key is held, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::File(path) => format!("the signing key {}", path.display()),
            Self::Pkcs11(token) => format!("the {}", token.describe()),
            Self::AwsKms(key) => format!("the {}", key.describe()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    keyring: PathBuf,
    max_clock_skew_seconds: Option<u32>,
    #[serde(default)]
    sigstore_trusted_roots: Vec<PathBuf>,
    #[serde(default)]
    published: Vec<cairn_collector::published::RawPublished>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPortal {
    out: Option<PathBuf>,
    templates: Option<PathBuf>,
    audience: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOut {
    out: Option<PathBuf>,
}

/// The validated configuration. Every path is absolute.
#[derive(Clone, Debug)]
pub struct Config {
    /// Its folder: relative paths resolve against it.
    pub dir: PathBuf,
    /// SHA-256 of the configuration file's text, as population packs record it.
    pub sha256: String,
    /// Store URL (a folder path made absolute, or a URL).
    pub store_url: String,
    /// Where Cairn's signing key is held.
    pub signing: SigningBackend,
    /// Cairn's public key (minisign).
    pub public_key: PathBuf,
    /// Trusted source keys.
    pub keyring: PathBuf,
    /// Allowed clock skew within a chain.
    pub max_clock_skew_seconds: u32,
    /// Sigstore `trusted_root.json` files keyless bundles may also verify against (`[trust]
    /// sigstore_trusted_roots`), besides the built-in public-good root.
    pub sigstore_trusted_roots: Vec<PathBuf>,
    /// Published key documents (`[[trust.published]]`), in configuration order.
    pub published: Vec<cairn_collector::published::PublishedSource>,
    /// Sources, in configuration order.
    pub sources: Vec<SourceConfig>,
    /// How sensitive each source's evidence is (`classification` in its `[[source]]`), by source
    /// name; a source not named is [`Classification::Internal`].
    pub source_classes: BTreeMap<String, Classification>,
    /// How sensitive each table is (`[privacy] tables`, over [`BUILT_IN_TABLE_CLASSES`]), by
    /// table; a table not named is [`Classification::Internal`].
    pub table_classes: BTreeMap<String, Classification>,
    /// Where each source's events hold personal data (`personal` in its `[[source]]`: JSON
    /// pointers), by source name. A value there in clear (not committed to) keeps the object
    /// holding it from an external audience.
    pub personal: BTreeMap<String, Vec<String>>,
    /// The secret keying the pseudonyms bundles give sampled events' personal values
    /// (`[privacy] pseudonym_key`: at least 32 random bytes, mode 0600), if configured.
    pub pseudonym_key: Option<PathBuf>,
    /// Portal output folder.
    pub portal_out: PathBuf,
    /// A folder of templates replacing built-in ones by name; checked when the portal renders.
    pub portal_templates: Option<PathBuf>,
    /// Whom the portal is rendered for (`[portal] audience`, default external): its pages
    /// withhold what the audience may not see.
    pub portal_audience: cairn_evidence::classification::Audience,
    /// Bundle output folder.
    pub bundles_out: PathBuf,
    /// User control catalog files, applied in order over the built-in catalog.
    pub control_catalogs: Vec<PathBuf>,
    /// The approved-dependency register, if one is configured.
    pub register: Option<PathBuf>,
    /// Threat models must be reviewed within this many days.
    pub threat_model_review_days: u32,
    /// Decision Cards must be re-signed within this many days (the quarterly review: 92).
    pub policy_review_days: u32,
    /// Days a vulnerability of each gated severity may stay open (`[supply.vulnerability_gate]`).
    pub vulnerability_gate: cairn_verifier::vulnerabilities::Gate,
    /// Days a test may stay quarantined (`[supply] test_quarantine_days`).
    pub test_quarantine_days: u32,
    /// Jobs (`[[job]]`), in configuration order.
    pub jobs: Vec<crate::schedule::Job>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!("cannot read configuration {} (use --config to name another file)", path.display())
        })?;
        Self::parse(&text, path)
    }

    /// Parses config text; `path` locates relative paths and names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let abs = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                dir.join(p)
            }
        };
        let mut source_classes = BTreeMap::new();
        let mut personal = BTreeMap::new();
        let mut sources = Vec::new();
        for table in raw.sources {
            let entry = source_config(text, table, &path)?;
            source_classes.insert(entry.config.name().to_string(), entry.class);
            if !entry.personal.is_empty() {
                personal.insert(entry.config.name().to_string(), entry.personal);
            }
            sources.push(entry.config);
        }
        let portal_audience = match raw.portal.audience.as_deref() {
            None => cairn_evidence::classification::Audience::External,
            Some(a) => cairn_evidence::classification::Audience::parse(a).with_context(|| {
                format!("{}: [portal] audience = {a:?}: \"external\" or \"internal\"", path.display())
            })?,
        };
        let mut table_classes: BTreeMap<String, Classification> =
            BUILT_IN_TABLE_CLASSES.iter().map(|(t, c)| ((*t).to_string(), *c)).collect();
        for (table, class) in &raw.privacy.tables {
            let class = Classification::parse(class).with_context(|| {
                format!(
                    "{}: [privacy] tables: {table} = {class:?}: one of public, internal, confidential, restricted",
                    path.display()
                )
            })?;
            table_classes.insert(table.clone(), class);
        }
        let mut names = BTreeSet::new();
        for s in &sources {
            let name = s.name();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                bail!("{}: source name {name:?} must be letters, digits, `-` or `_`", path.display());
            }
            if !names.insert(name.to_string()) {
                bail!("{}: source name {name:?} is used twice", path.display());
            }
        }
        let mut jobs: Vec<crate::schedule::Job> = Vec::new();
        for raw_job in raw.jobs {
            let job =
                crate::schedule::Job::from_raw(raw_job).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            if jobs.iter().any(|j| j.name == job.name) {
                bail!("{}: [[job]] name {:?} is used twice", path.display(), job.name);
            }
            if portal_audience == cairn_evidence::classification::Audience::Internal
                && job.steps.contains(&crate::schedule::Step::Publish)
            {
                bail!(
                    "{}: [[job]] {:?} publishes the portal, which [portal] audience = \"internal\" renders for the \
                     organisation's own team only: publish a portal rendered for an external audience",
                    path.display(),
                    job.name
                );
            }
            jobs.push(job);
        }
        let vulnerability_gate = raw.supply.vulnerability_gate.unwrap_or_default();
        if let Some(severity) = vulnerability_gate.unknown_severity() {
            bail!(
                "{}: [supply.vulnerability_gate] names severity {severity:?}; scans write {}",
                path.display(),
                cairn_verifier::vulnerabilities::SEVERITIES.join(", ")
            );
        }
        let mut published: Vec<cairn_collector::published::PublishedSource> = Vec::new();
        for entry in raw.trust.published {
            let doc = entry.check(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            if published.iter().any(|d| d.name == doc.name) {
                bail!("{}: [[trust.published]] name {:?} is used twice", path.display(), doc.name);
            }
            published.push(doc);
        }
        let store_url = if raw.store.url.contains("://") {
            raw.store.url.clone()
        } else {
            abs(Path::new(&raw.store.url)).display().to_string()
        };
        Ok(Self {
            sha256: cairn_evidence::digest::sha256_hex(text.as_bytes()),
            store_url,
            public_key: abs(&raw.signing.public_key),
            signing: raw.signing.backend(|p| abs(p)).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            keyring: abs(&raw.trust.keyring),
            max_clock_skew_seconds: raw.trust.max_clock_skew_seconds.unwrap_or(300),
            sigstore_trusted_roots: raw.trust.sigstore_trusted_roots.iter().map(|p| abs(p)).collect(),
            published,
            sources,
            source_classes,
            table_classes,
            personal,
            pseudonym_key: raw.privacy.pseudonym_key.as_deref().map(abs),
            portal_out: abs(raw.portal.out.as_deref().unwrap_or(Path::new("portal"))),
            portal_templates: raw.portal.templates.as_deref().map(abs),
            portal_audience,
            bundles_out: abs(raw.bundles.out.as_deref().unwrap_or(Path::new("bundles"))),
            control_catalogs: raw.controls.catalog.iter().map(|p| abs(p)).collect(),
            register: raw.supply.register.as_deref().map(abs),
            threat_model_review_days: raw.supply.threat_model_review_days.unwrap_or(365),
            policy_review_days: raw.supply.policy_review_days.unwrap_or(92),
            vulnerability_gate,
            test_quarantine_days: raw.supply.test_quarantine_days.unwrap_or(14),
            jobs,
            dir,
        })
    }
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Tables more sensitive than the default by nature: records kept aside hold raw source text,
/// whatever personal data it carried.
pub const BUILT_IN_TABLE_CLASSES: &[(&str, Classification)] =
    &[(cairn_evidence::tables::names::QUARANTINE, Classification::Restricted)];

/// A `[[source]]` as read: its configuration, with what any source type may also set.
struct SourceEntry {
    config: SourceConfig,
    class: Classification,
    personal: Vec<String>,
}

/// Reads one `[[source]]` table by its `type`, with its `classification` and `personal`
/// pointers (any source type may have them). An error names the line of the key at fault (or of
/// the table, when no single key is).
fn source_config(text: &str, table: toml::Spanned<toml::Table>, path: &Path) -> Result<SourceEntry> {
    let span = table.span();
    let mut table = table.into_inner();
    let name = table.get("name").and_then(toml::Value::as_str).unwrap_or("?").to_string();
    let class = match table.remove("classification") {
        None => Classification::Internal,
        Some(v) => v.as_str().and_then(Classification::parse).with_context(|| {
            format!(
                "{}: line {}: [[source]] {name:?}: classification = {v}: one of \"public\", \"internal\", \"confidential\", \"restricted\"",
                path.display(),
                line_of(text, span.start)
            )
        })?,
    };
    let personal = match table.remove("personal") {
        None => Vec::new(),
        Some(v) => v
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .map(|i| i.as_str().filter(|p| p.starts_with('/')).map(str::to_string))
                    .collect::<Option<Vec<String>>>()
            })
            .with_context(|| {
                format!(
                    "{}: line {}: [[source]] {name:?}: personal = {v}: a list of JSON pointers into its events, such as [\"/actor\", \"/attrs/ip\"]",
                    path.display(),
                    line_of(text, span.start)
                )
            })?,
    };
    match SourceConfig::deserialize(toml::Value::Table(table)) {
        Ok(config) => Ok(SourceEntry { config, class, personal }),
        Err(e) => {
            let message = e.message().to_string();
            // Point at the offending key's own line when the message names one.
            let key = ["unknown field `", "unknown variant `", "missing field `"].iter().find_map(|p| {
                message.split_once(p).and_then(|(_, rest)| rest.split_once('`')).map(|(k, _)| k.to_string())
            });
            let body = &text[span.clone()];
            let line = key
                .and_then(|k| {
                    body.lines()
                        .scan(span.start, |at, l| {
                            let start = *at;
                            *at += l.len() + 1;
                            Some((start, l))
                        })
                        .find(|(_, l)| {
                            let t = l.trim_start();
                            t.starts_with(&format!("{k} "))
                                || t.starts_with(&format!("{k}="))
                                || t.contains(&format!("\"{k}\""))
                        })
                        .map(|(start, _)| line_of(text, start))
                })
                .unwrap_or_else(|| line_of(text, span.start));
            bail!("{}: line {line}: [[source]] {name:?}: {message}", path.display())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_evidence::classification::Audience;

    const GOOD: &str = r#"
[store]
url = "store"
[signing]
key = "keys/cairn.key"
public_key = "keys/cairn.pub"
[trust]
keyring = "keys/trusted.toml"
[[source]]
name = "payments"
type = "jsonl"
url = "inputs/payments/"
event = "/event"
"#;

    #[test]
    fn relative_paths_resolve_against_the_config_folder() {
        let c = Config::parse(GOOD, Path::new("/etc/cairn/cairn.toml")).unwrap();
        assert_eq!(c.store_url, "/etc/cairn/store");
        assert_eq!(c.keyring, Path::new("/etc/cairn/keys/trusted.toml"));
        assert_eq!(c.sources.len(), 1);
        assert_eq!(c.portal_templates, None);
        let with = format!("{GOOD}[portal]\ntemplates = \"brand\"\n");
        let c = Config::parse(&with, Path::new("/etc/cairn/cairn.toml")).unwrap();
        assert_eq!(c.portal_templates.as_deref(), Some(Path::new("/etc/cairn/brand")));
        // Only the portal has templates.
        let err = Config::parse(&format!("{GOOD}[bundles]\ntemplates = \"brand\"\n"), Path::new("cairn.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("templates"), "{err}");
    }

    #[test]
    fn the_portal_is_for_an_external_audience_unless_configured_otherwise() {
        let path = Path::new("cairn.toml");
        assert_eq!(Config::parse(GOOD, path).unwrap().portal_audience, Audience::External);
        let internal = format!("{GOOD}[portal]\naudience = \"internal\"\n");
        assert_eq!(Config::parse(&internal, path).unwrap().portal_audience, Audience::Internal);
        let err = Config::parse(&format!("{GOOD}[portal]\naudience = \"everyone\"\n"), path).unwrap_err().to_string();
        assert!(err.contains("[portal] audience = \"everyone\""), "{err}");
        let publishing = format!(
            "{GOOD}[portal]\naudience = \"internal\"\n[[job]]\nname = \"nightly\"\nschedule = \"0 0 2 * * *\"\n\
             steps = [\"render\", \"publish\"]\n[job.publish]\nurl = \"published\"\n"
        );
        let err = Config::parse(&publishing, path).unwrap_err().to_string();
        assert!(err.contains("publish a portal rendered for an external audience"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let bad = GOOD.replace("event = \"/event\"", "evnt = \"/event\"");
        let err = Config::parse(&bad, Path::new("cairn.toml")).unwrap_err().to_string();
        assert!(err.contains("evnt"), "{err}");
        assert!(err.contains("line 13"), "{err}");
        let bad = GOOD.replace("[trust]", "[trust]\nkeyrings = 1");
        let err = Config::parse(&bad, Path::new("cairn.toml")).unwrap_err().to_string();
        assert!(err.contains("keyrings") && err.contains("line 8"), "{err}");
        let bad = GOOD.replace("type = \"jsonl\"", "type = \"jsnl\"");
        let err = Config::parse(&bad, Path::new("cairn.toml")).unwrap_err().to_string();
        assert!(err.contains("jsnl"), "{err}");
    }

    #[test]
    fn published_key_documents_are_checked_once() {
        let with = |entry: &str| GOOD.replace("[[source]]", &format!("[[trust.published]]\n{entry}\n[[source]]"));
        let c =
            Config::parse(&with("name = \"vendor\"\nurl = \"keys/vendor.jwks\""), Path::new("/etc/cairn/cairn.toml"))
                .unwrap();
        assert_eq!(c.published.len(), 1);
        assert_eq!(c.published[0].grace_hours, 72);
        assert_eq!(c.published[0].timeout.as_secs(), 10);
        assert!(c.published[0].join.is_none());
        let err =
            Config::parse(&with("name = \"vendor\"\nurl = \"http://vendor.example/jwks\""), Path::new("cairn.toml"))
                .unwrap_err()
                .to_string();
        assert!(err.contains("\"vendor\"") && err.contains("https://"), "{err}");
        let err = Config::parse(&with("name = \"vendor\"\nurl = \"k\"\ngrace = 3"), Path::new("cairn.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("grace"), "{err}");
    }

    #[test]
    fn the_signing_key_is_a_file_or_a_key_pair_in_a_pkcs11_token() {
        let c = Config::parse(GOOD, Path::new("/etc/cairn/cairn.toml")).unwrap();
        assert_eq!(c.signing, SigningBackend::File("/etc/cairn/keys/cairn.key".into()));
        let signing = |lines: &str| GOOD.replace("key = \"keys/cairn.key\"\n", lines);
        let hsm = "backend = \"pkcs11\"\nmodule = \"/usr/lib/softhsm/libsofthsm2.so\"\ntoken = \"cairn\"\nkey_label = \"signing\"\n";
        let c = Config::parse(&signing(hsm), Path::new("/etc/cairn/cairn.toml")).unwrap();
        assert_eq!(
            c.signing,
            SigningBackend::Pkcs11(cairn_signer::Pkcs11Config {
                module: "/usr/lib/softhsm/libsofthsm2.so".into(),
                token: "cairn".into(),
                key_label: "signing".into(),
                pin_env: "CAIRN_PKCS11_PIN".into(),
            })
        );
        let refused = |lines: &str| Config::parse(&signing(lines), Path::new("cairn.toml")).unwrap_err().to_string();
        assert!(refused(&hsm.replace("token = \"cairn\"\n", ""))
            .ends_with("backend = \"pkcs11\" needs token, the token's label"));
        assert!(refused(&format!("{hsm}key = \"keys/cairn.key\"\n"))
            .contains("[signing] key is a setting of backend = \"file\", not of backend = \"pkcs11\""));
        assert!(refused("token = \"cairn\"\n").contains("[signing] token is a setting of backend = \"pkcs11\""));
        assert!(refused("backend = \"kms\"\n").contains("the backends are \"file\", \"pkcs11\" and \"aws-kms\""));
        let kms = "backend = \"aws-kms\"\nkey_id = \"alias/cairn\"\nregion = \"eu-west-1\"\n";
        let c = Config::parse(&signing(kms), Path::new("/etc/cairn/cairn.toml")).unwrap();
        assert_eq!(
            c.signing,
            SigningBackend::AwsKms(cairn_signer::AwsKmsConfig {
                key_id: "alias/cairn".into(),
                region: "eu-west-1".into(),
                endpoint: None,
            })
        );
        assert!(refused(&format!("{kms}token = \"cairn\"\n")).contains("token is a setting of backend = \"pkcs11\""));
        assert!(refused("backend = \"aws-kms\"\nregion = \"eu-west-1\"\n")
            .ends_with("needs key_id, the KMS key's id, ARN or alias"));
        let plain = refused(&format!("{kms}endpoint = \"http://kms.example\"\n"));
        assert!(plain.contains("[signing] endpoint \"http://kms.example\" must be https://"), "{plain}");
        assert!(refused("").contains("[signing] needs key"));
        // The PIN is never in the file.
        assert!(refused(&format!("{hsm}pin = \"1234\"\n")).contains("unknown field `pin`"));
    }
}
