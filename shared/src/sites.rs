//! Sites (tenants): what the widget learns about its site before anyone signs in.

use serde::{Deserialize, Serialize};

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
}
