//! Who is online on the site.

use serde::{Deserialize, Serialize};

use crate::messages::Author;

/// `GET /api/v1/presence`: the people of the caller's site with a connection open now. Changes
/// after this arrive over the WebSocket as `presence` frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OnlineList {
    pub online: Vec<Author>,
}
