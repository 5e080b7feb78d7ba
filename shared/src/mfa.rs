//! Second-factor bodies: TOTP enrolment, the sign-in challenge, recovery codes.

use serde::{Deserialize, Serialize};

use crate::ids::SitePublicId;

/// What `POST /api/v1/auth/login` answers (202) when the password was right and the account
/// has a second factor: a ticket to complete with [`MfaVerifyRequest`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaChallenge {
    /// Single use; keep in memory only.
    pub ticket: String,
    /// Seconds until the ticket expires.
    pub expires_in: u64,
}

impl std::fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaChallenge").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/mfa/verify`: the ticket plus a 6-digit authenticator code or a recovery
/// code (the server tells them apart by shape).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MfaVerifyRequest {
    pub site: SitePublicId,
    pub ticket: String,
    pub code: String,
}

impl std::fmt::Debug for MfaVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaVerifyRequest").field("site", &self.site).finish_non_exhaustive()
    }
}

/// `GET /api/v1/auth/mfa`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaStatus {
    pub totp_enabled: bool,
    pub recovery_codes_left: u64,
}

/// `POST /api/v1/auth/mfa/totp`: a new secret, not active until confirmed with a code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrollment {
    /// The secret in base32, for typing into an app that cannot scan.
    pub secret: String,
    /// The `otpauth://` URI the QR code encodes.
    pub otpauth_uri: String,
    /// The QR code: one string per row, `1` for a dark module, `0` for a light one. The widget
    /// draws it as SVG elements, so no markup crosses the wire.
    pub qr: Vec<String>,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrollment").finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/mfa/totp/confirm`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmRequest {
    pub code: String,
}

impl std::fmt::Debug for TotpConfirmRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpConfirmRequest").finish_non_exhaustive()
    }
}

/// Re-authentication for turning MFA off or replacing recovery codes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReauthRequest {
    pub password: String,
}

impl std::fmt::Debug for ReauthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReauthRequest").finish_non_exhaustive()
    }
}

/// Fresh recovery codes, shown once: each works one time, in place of an authenticator code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryCodes").field("count", &self.codes.len()).finish_non_exhaustive()
    }
}
