use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A string that is not a GUID where one was required.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a GUID (expected 8-4-4-4-12 hexadecimal digits, e.g. ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7)"
)]
pub struct IdParseError {
    /// The rejected text.
    pub input: String,
}

macro_rules! guid_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Parses the hyphenated GUID form Graph uses (case-insensitive).
            pub fn parse(s: &str) -> Result<Self, IdParseError> {
                s.parse()
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                // Graph only ever uses the hyphenated 36-character form; accepting braces or
                // simple forms would let typos through.
                if s.len() != 36 {
                    return Err(IdParseError { input: s.to_owned() });
                }
                Uuid::parse_str(s).map($name).map_err(|_| IdParseError { input: s.to_owned() })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

guid_newtype!(
    /// A `subscribedSku.skuId` (the same GUID in every tenant for a given product).
    SkuId
);
guid_newtype!(
    /// An Entra ID group object id.
    GroupId
);
guid_newtype!(
    /// A `servicePlan.servicePlanId` (used by `disabledPlans`).
    ServicePlanId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hyphenated_only() {
        assert!(SkuId::parse("ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7").is_ok());
        assert!(SkuId::parse("EA4C5EC8-50E3-4193-89B9-50DA5BD4CDC7").is_ok());
        assert!(SkuId::parse("ea4c5ec850e3419389b950da5bd4cdc7").is_err());
        assert!(SkuId::parse("{ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7}").is_err());
        assert!(SkuId::parse("not-a-guid").is_err());
    }

    #[test]
    fn displays_lowercase_hyphenated() {
        let id = GroupId::parse("EA4C5EC8-50E3-4193-89B9-50DA5BD4CDC7").unwrap();
        assert_eq!(id.to_string(), "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7");
    }
}
