//! Authentication primitives shared by the server's routes and its WebSocket.

pub mod access_token;
pub mod password;

pub use access_token::{AccessClaims, AccessTokenError, AccessTokens};
pub use password::{PasswordError, PasswordHasher, Verified};
