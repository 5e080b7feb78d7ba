//! The Palisade wire: every body and frame the widget and the server exchange.
//!
//! Both sides compile this crate (natively and for `wasm32-unknown-unknown`), so a change to the
//! wire is a compile error on the other side instead of a runtime surprise.

pub mod audit;
pub mod auth;
pub mod error;
pub mod ids;
pub mod limits;
pub mod markup;
pub mod messages;
pub mod mfa;
pub mod oauth;
pub mod permissions;
pub mod presence;
pub mod roles;
pub mod rooms;
pub mod sites;
pub mod time;
pub mod ws;

pub use error::{ErrorBody, ErrorCode};
pub use ids::{ClientMessageId, MessageId, RoomId, SessionId, SitePublicId, UserId};
pub use time::Timestamp;
