//! Findings: a failed check is a value with a kind and a location, never a bare `bool`.
//!
//! One type from end to end: the verifier returns a [`Finding`], the verify run records it (its
//! run, time and whether it is about simulated data), and the same value is a row of the
//! `findings` table, an element of `cairn verify --format json` and a row in the portal.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What kind of problem a finding names. Spelled in reports exactly as [`FindingKind::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// The event's content does not hash to its `hash`.
    Altered,
    /// `prev` is not the hash of the event before it.
    BrokenLink,
    /// Sequence numbers are missing.
    Gap,
    /// An event arrived after its chain had moved past it, and it is neither missing nor
    /// remembered: a replay, or a delivery too late to link.
    Reorder,
    /// Two different events claim one sequence number.
    Fork,
    /// The same event was delivered twice (reported, not a break).
    Duplicate,
    /// Events reported missing by an earlier verification arrived and link into their place:
    /// that gap is closed (reported, not a break).
    GapClosed,
    /// The signature does not verify with the named key.
    BadSignature,
    /// The key is not in the keyring, or not trusted for this chain.
    UnknownKey,
    /// The key was used outside its validity window or after revocation.
    KeyNotValid,
    /// Event time goes backwards beyond the allowed skew.
    TimeBackwards,
    /// The chain started again at 0 mid-stream.
    Restart,
    /// A committed object's bytes no longer match its manifest.
    ObjectDigestMismatch,
    /// A manifest is unsigned, its signature fails, or it does not parse.
    ManifestSignature,
    /// A manifest does not link to the one before it, or its Merkle root is wrong.
    ManifestChain,
    /// An attestation's signature is missing, does not verify, or is by a key not trusted for it.
    AttestationSignature,
    /// A transparency-log inclusion proof does not lead to its root, or the entry is not the artefact's.
    TlogInclusion,
    /// A keyless signature verifies, but by a certificate identity the keyring does not trust
    /// for the attestation's source.
    SignerIdentity,
    /// A release artefact's digest differs from the digest its attestation names.
    SubjectDigestMismatch,
    /// A release artefact no attestation names.
    UnattestedArtifact,
    /// An SBOM component outside the approved-dependency register.
    UnapprovedComponent,
    /// An SBOM component whose licence the register does not allow.
    DisallowedLicense,
    /// A release with no SBOM.
    MissingSbom,
    /// A threat model not reviewed within the review interval.
    ThreatModelStale,
    /// An open high-severity threat with no mitigation.
    UnmitigatedThreat,
    /// A vulnerability of a gated severity that the latest scan of a subject still reports,
    /// first seen longer ago than the gate allows.
    VulnerabilityGate,
    /// A gated vulnerability the previous scan of a subject reported and the next one does not
    /// (reported, not a break): it resolves that vulnerability's gate finding.
    VulnerabilityFixed,
    /// The latest run of a release's test report has a failed or errored case.
    ReleaseTestsFailed,
    /// A test quarantined (skipped) in every run since longer ago than allowed.
    TestQuarantineOverdue,
    /// A later run passed, or ran the quarantined test again (reported, not a break): it
    /// resolves the `release_tests_failed` or `test_quarantine_overdue` it names.
    TestsCleared,
    /// A policy Decision Card with no signature, or one no key allowed for it verifies.
    PolicySignature,
    /// The same Decision Card `id` and `version` published again with other content.
    PolicyMutated,
    /// A Decision Card past its `expires_at`, or not re-signed within the review interval.
    PolicyReviewOverdue,
    /// An audit event names a Decision Card the lake does not hold, or one issued after it.
    PolicyUnknown,
    /// A key left its published document while the keyring or collected events still use it.
    PublishedKeyRemoved,
    /// A published key does not match the fingerprint `cairn.toml` pins for its kid.
    PublishedKeyPinMismatch,
    /// A published key document stayed unreachable past its grace period.
    PublishedKeyUnreachable,
}

impl FindingKind {
    /// Every kind, in report order.
    pub const ALL: [FindingKind; 37] = [
        Self::Altered,
        Self::BrokenLink,
        Self::Gap,
        Self::Reorder,
        Self::Fork,
        Self::Duplicate,
        Self::GapClosed,
        Self::BadSignature,
        Self::UnknownKey,
        Self::KeyNotValid,
        Self::TimeBackwards,
        Self::Restart,
        Self::ObjectDigestMismatch,
        Self::ManifestSignature,
        Self::ManifestChain,
        Self::AttestationSignature,
        Self::TlogInclusion,
        Self::SignerIdentity,
        Self::SubjectDigestMismatch,
        Self::UnattestedArtifact,
        Self::UnapprovedComponent,
        Self::DisallowedLicense,
        Self::MissingSbom,
        Self::ThreatModelStale,
        Self::UnmitigatedThreat,
        Self::VulnerabilityGate,
        Self::VulnerabilityFixed,
        Self::ReleaseTestsFailed,
        Self::TestQuarantineOverdue,
        Self::TestsCleared,
        Self::PolicySignature,
        Self::PolicyMutated,
        Self::PolicyReviewOverdue,
        Self::PolicyUnknown,
        Self::PublishedKeyRemoved,
        Self::PublishedKeyPinMismatch,
        Self::PublishedKeyUnreachable,
    ];

    /// The kind as written in reports and the `findings` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Altered => "altered",
            Self::BrokenLink => "broken_link",
            Self::Gap => "gap",
            Self::Reorder => "reorder",
            Self::Fork => "fork",
            Self::Duplicate => "duplicate",
            Self::GapClosed => "gap_closed",
            Self::BadSignature => "bad_signature",
            Self::UnknownKey => "unknown_key",
            Self::KeyNotValid => "key_not_valid",
            Self::TimeBackwards => "time_backwards",
            Self::Restart => "restart",
            Self::ObjectDigestMismatch => "object_digest_mismatch",
            Self::ManifestSignature => "manifest_signature",
            Self::ManifestChain => "manifest_chain",
            Self::AttestationSignature => "attestation_signature",
            Self::TlogInclusion => "tlog_inclusion",
            Self::SignerIdentity => "signer_identity",
            Self::SubjectDigestMismatch => "subject_digest_mismatch",
            Self::UnattestedArtifact => "unattested_artifact",
            Self::UnapprovedComponent => "unapproved_component",
            Self::DisallowedLicense => "disallowed_license",
            Self::MissingSbom => "missing_sbom",
            Self::ThreatModelStale => "threat_model_stale",
            Self::UnmitigatedThreat => "unmitigated_threat",
            Self::VulnerabilityGate => "vulnerability_gate",
            Self::VulnerabilityFixed => "vulnerability_fixed",
            Self::ReleaseTestsFailed => "release_tests_failed",
            Self::TestQuarantineOverdue => "test_quarantine_overdue",
            Self::TestsCleared => "tests_cleared",
            Self::PolicySignature => "policy_signature",
            Self::PolicyMutated => "policy_mutated",
            Self::PolicyReviewOverdue => "policy_review_overdue",
            Self::PolicyUnknown => "policy_unknown",
            Self::PublishedKeyRemoved => "published_key_removed",
            Self::PublishedKeyPinMismatch => "published_key_pin_mismatch",
            Self::PublishedKeyUnreachable => "published_key_unreachable",
        }
    }

    /// Parses a kind as written in reports.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the finding breaks the evidence (all but a duplicate delivery, a closed gap, a
    /// fixed vulnerability and cleared tests do).
    pub fn is_break(self) -> bool {
        !matches!(self, Self::Duplicate | Self::GapClosed | Self::VulnerabilityFixed | Self::TestsCleared)
    }

    /// Whether the finding is a break in an audit-event chain: an event altered, missing,
    /// out of order, forked, relinked or back in time. (Signature and key findings, lake and
    /// supply-chain findings are counted apart.)
    pub fn is_chain_break(self) -> bool {
        matches!(
            self,
            Self::Altered
                | Self::BrokenLink
                | Self::Gap
                | Self::Reorder
                | Self::Fork
                | Self::TimeBackwards
                | Self::Restart
        )
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: what, where, and why; once recorded by a verify run, also which run and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Kind.
    pub kind: FindingKind,
    /// Chain, when about one.
    pub chain: Option<String>,
    /// Sequence number, when about one event.
    pub seq: Option<u64>,
    /// Lake object (or manifest) it points at.
    pub object_key: Option<String>,
    /// Line in the source object, when known.
    pub line: Option<u64>,
    /// Human explanation.
    pub detail: String,
    /// The verification run that recorded it (empty until recorded).
    #[serde(default)]
    pub run_id: String,
    /// When it was recorded (the `findings` table's `timestamp` column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_at: Option<DateTime<Utc>>,
    /// True when it is about simulated data.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}

impl Finding {
    /// A finding not yet tied to a chain, object or line.
    pub fn new(kind: FindingKind, detail: String) -> Self {
        Self {
            kind,
            chain: None,
            seq: None,
            object_key: None,
            line: None,
            detail,
            run_id: String::new(),
            found_at: None,
            simulated: false,
        }
    }

    /// A finding about a lake object, not a chain.
    pub fn object(kind: FindingKind, key: &str, detail: String) -> Self {
        Self { object_key: Some(key.to_string()), ..Self::new(kind, detail) }
    }

    /// A finding about an event of a chain.
    pub fn event(kind: FindingKind, chain: &str, seq: u64, detail: String) -> Self {
        Self { chain: Some(chain.to_string()), seq: Some(seq), ..Self::new(kind, detail) }
    }

    /// The same finding at a line of its object.
    #[must_use]
    pub fn at_line(self, line: u64) -> Self {
        Self { line: Some(line), ..self }
    }

    /// The finding as the portal and bundle reports list it: what, where, why and the run that
    /// found it (the time and the simulated flag show elsewhere on those pages).
    #[must_use]
    pub fn as_shown(&self) -> Self {
        Self { found_at: None, simulated: false, ..self.clone() }
    }

    /// A short, stable name for the finding, the same however often and by whichever pass it is
    /// found: an event finding by its kind, chain and seq; any other by its kind, object and
    /// detail. Acknowledgements name findings by it.
    pub fn id(&self) -> String {
        let text = match (&self.chain, self.seq) {
            (Some(chain), Some(seq)) => format!("{}\n{chain}\n{seq}", self.kind),
            _ => format!("{}\n\n\n{}\n{}", self.kind, self.object_key.as_deref().unwrap_or_default(), self.detail),
        };
        let mut id = crate::digest::sha256_hex(text.as_bytes());
        id.truncate(16);
        id
    }

    /// The finding as recorded by verify run `run_id` at `at`.
    #[must_use]
    pub fn recorded(self, run_id: &str, at: DateTime<Utc>, simulated: bool) -> Self {
        Self { run_id: run_id.to_string(), found_at: Some(at), simulated, ..self }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(c) = &self.chain {
            write!(f, " chain={c}")?;
        }
        if let Some(s) = self.seq {
            write!(f, " seq={s}")?;
        }
        if let Some(o) = &self.object_key {
            write!(f, " object={o}")?;
        }
        if let Some(l) = self.line {
            write!(f, " line={l}")?;
        }
        write!(f, ": {}", self.detail)
    }
}
