//! Authentication primitives shared by the server's routes and its WebSocket.

pub mod access_token;
pub mod password;
pub mod password_policy;
pub mod refresh_token;
pub mod throttle;

pub use access_token::{AccessClaims, AccessTokenError, AccessTokens};
pub use password::{PasswordError, PasswordHasher, Verified};
pub use password_policy::WeakPassword;
