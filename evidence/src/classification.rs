//! How sensitive evidence is, and who may see what: classifications of sources and tables, and
//! the audiences bundles are made for.

use serde::{Deserialize, Serialize};

/// A classification, from least to most sensitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    /// Fit for anyone.
    Public,
    /// For the organisation and those it works with under agreement (the default).
    #[default]
    Internal,
    /// For named people with a need to know.
    Confidential,
    /// Personal data or secrets: for the fewest people, never for an external audience.
    Restricted,
}

impl Classification {
    /// Its name in configuration and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Confidential => "confidential",
            Self::Restricted => "restricted",
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Public, Self::Internal, Self::Confidential, Self::Restricted].into_iter().find(|c| c.as_str() == name)
    }
}

/// Who a bundle is for: what it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// The organisation's own compliance team: everything, disclosed personal values of sampled
    /// events included. Asked for by name.
    Internal,
    /// An auditor outside the organisation: nothing restricted, no disclosed personal value. The
    /// default: a bundle made without saying whom it is for may end up anywhere (the portal
    /// publishes the bundles it finds).
    #[default]
    External,
}

impl Audience {
    /// Its name on the command line and in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Internal, Self::External].into_iter().find(|a| a.as_str() == name)
    }

    /// The most sensitive classification it may see.
    pub fn ceiling(self) -> Classification {
        match self {
            Self::Internal => Classification::Restricted,
            Self::External => Classification::Confidential,
        }
    }

    /// Whether it may see content of `class`.
    pub fn may_see(self, class: Classification) -> bool {
        class <= self.ceiling()
    }
}

/// What a bundle made for an audience says about it: the ceiling, and what was left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceNote {
    /// The audience.
    pub audience: Audience,
    /// The most sensitive classification the bundle holds.
    pub ceiling: Classification,
    /// What was left out, and why, one entry per kind of content.
    pub left_out: Vec<LeftOut>,
}

/// Content a bundle left out for its audience.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// What (`lake object lake/quarantine/…`, `disclosed personal values`).
    pub what: String,
    /// Its classification.
    pub classification: Classification,
    /// How many items.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_audience_sees_up_to_confidential() {
        assert!(Audience::External.may_see(Classification::Confidential));
        assert!(!Audience::External.may_see(Classification::Restricted));
        assert!(Audience::Internal.may_see(Classification::Restricted));
        assert_eq!(Classification::parse("restricted"), Some(Classification::Restricted));
        assert_eq!(Classification::parse("secret"), None);
        assert_eq!(Classification::default(), Classification::Internal);
    }
}
