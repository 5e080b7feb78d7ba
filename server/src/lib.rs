//! The Palisade chat server: configuration, the HTTP API, WebSocket delivery, and the CLI.

pub mod app;
mod audit;
mod authz;
pub mod cli;
mod client_ip;
pub mod config;
mod connection_cap;
mod csrf;
mod error;
mod extract;
mod https_redirect;
mod mail;
mod mail_links;
mod metrics;
pub mod oauth;
mod openapi;
mod origins;
mod private_files;
mod rate_limit;
mod refusal_watch;
mod routes;
mod sealing;
mod security_headers;
mod sessions;
pub mod shutdown;
mod sign_in_throttle;
mod socket_cap;
pub mod tls;
mod ws;

pub use app::{Running, start};
pub use config::Config;
