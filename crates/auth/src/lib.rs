//! Authentication primitives shared by the server's routes and its WebSocket.

pub mod access_token;
pub mod oauth;
pub mod opaque_token;
pub mod password;
pub mod password_policy;
pub mod recovery_codes;
pub mod throttle;
pub mod totp;

pub use access_token::{AccessClaims, AccessTokenError, AccessTokens};
pub use password::{PasswordError, PasswordHasher, Verified};
pub use password_policy::WeakPassword;
