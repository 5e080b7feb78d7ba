//! Sites (tenants): what the widget learns about its site before anyone signs in.

use serde::{Deserialize, Serialize};

use crate::roles::Role;

/// Who may create an account on a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignUpMode {
    /// Anyone who can read the mail sent to their address.
    Open,
    /// Only people an operator invited (`palisade-server user invite`).
    InviteOnly,
}

impl SignUpMode {
    pub const ALL: [Self; 2] = [Self::Open, Self::InviteOnly];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InviteOnly => "invite_only",
        }
    }
}

impl std::fmt::Display for SignUpMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sign-up mode {0:?}; one of open, invite-only")]
pub struct UnknownSignUpMode(pub String);

impl std::str::FromStr for SignUpMode {
    type Err = UnknownSignUpMode;

    /// Takes the wire name or, as command lines spell it, `invite-only`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wire = s.replace('-', "_");
        Self::ALL.into_iter().find(|mode| mode.as_str() == wire).ok_or_else(|| UnknownSignUpMode(s.to_owned()))
    }
}

/// `GET /api/v1/sites/{public_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteInfo {
    pub name: String,
    /// Whether the widget should offer to create an account.
    pub sign_up: SignUpMode,
}

/// `GET /api/v1/site/settings`: everything the site's owner and admins may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteSettings {
    pub name: String,
    /// Exact `scheme://host[:port]` origins allowed to embed the widget.
    pub allowed_origins: Vec<String>,
    pub sign_up: SignUpMode,
    /// Messages older than this many days are deleted; `null` keeps them forever.
    pub retention_days: Option<u32>,
    /// Roles that must use a second factor, from their next sign-in.
    pub mfa_required_roles: Vec<Role>,
}

/// `PATCH /api/v1/site/settings`: what to change; a field left out stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SiteSettingsChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Replaces every allowed origin; at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_up: Option<SignUpMode>,
    /// A number of days (at least 1), or `null` to keep messages forever.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, nullable))]
    pub retention_days: Option<Option<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_required_roles: Option<Vec<Role>>,
}

/// A field that is present, even as `null`, is `Some`; only an absent one is `None` (the
/// `default`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PUT /api/v1/site/people/{user}/role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_through_text_and_json() {
        for mode in SignUpMode::ALL {
            assert_eq!(mode.as_str().parse::<SignUpMode>(), Ok(mode));
            assert_eq!(serde_json::to_string(&mode).unwrap(), format!("\"{mode}\""));
        }
        assert_eq!("invite-only".parse::<SignUpMode>(), Ok(SignUpMode::InviteOnly));
        assert!("closed".parse::<SignUpMode>().is_err());
    }

    #[test]
    fn a_change_tells_keep_forever_from_leaving_retention_alone() {
        let parse = |json| serde_json::from_str::<SiteSettingsChange>(json).unwrap();
        assert_eq!(parse("{}").retention_days, None);
        assert_eq!(parse(r#"{"retention_days":null}"#).retention_days, Some(None));
        assert_eq!(parse(r#"{"retention_days":30}"#).retention_days, Some(Some(30)));
        assert!(serde_json::from_str::<SiteSettingsChange>(r#"{"owner":"me"}"#).is_err());
    }
}
