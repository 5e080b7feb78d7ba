//! Identifiers on the wire. Entities are named by random UUIDs, never by sequential integers,
//! so an id reveals nothing about how many others exist and cannot be guessed.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A person's account within one site.
    UserId
);
uuid_id!(
    /// A conversation.
    RoomId
);
uuid_id!(
    /// A stored message.
    MessageId
);
uuid_id!(
    /// One signed-in device: what access tokens name as `sid` and what a person can end.
    SessionId
);
uuid_id!(
    /// Chosen by the sending client so that a retried send is stored once.
    ClientMessageId
);

/// The public identifier of a site (tenant), as site owners write it in `data-site`.
///
/// Lowercase ASCII letters, digits and `-`, 1 to [`crate::limits::SITE_PUBLIC_ID_MAX`] long.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, pattern = "^[a-z0-9-]{1,64}$"))]
#[serde(try_from = "String", into = "String")]
pub struct SitePublicId(String);

impl SitePublicId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a string is not a site public id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a site id is 1 to {max} characters of a-z, 0-9 and '-'", max = crate::limits::SITE_PUBLIC_ID_MAX)]
pub struct InvalidSitePublicId;

impl TryFrom<String> for SitePublicId {
    type Error = InvalidSitePublicId;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let valid = !value.is_empty()
            && value.len() <= crate::limits::SITE_PUBLIC_ID_MAX
            && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid { Ok(Self(value)) } else { Err(InvalidSitePublicId) }
    }
}

impl std::str::FromStr for SitePublicId {
    type Err = InvalidSitePublicId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_from(s.to_owned())
    }
}

impl From<SitePublicId> for String {
    fn from(value: SitePublicId) -> Self {
        value.0
    }
}

impl std::fmt::Display for SitePublicId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_public_id_accepts_only_the_documented_alphabet() {
        assert!("demo".parse::<SitePublicId>().is_ok());
        assert!("acme-2".parse::<SitePublicId>().is_ok());
        for bad in ["", "Demo", "a b", "a/b", "é", &"a".repeat(65)] {
            assert!(bad.parse::<SitePublicId>().is_err(), "{bad:?} should be rejected");
        }
        assert!(serde_json::from_str::<SitePublicId>("\"../x\"").is_err());
    }
}
