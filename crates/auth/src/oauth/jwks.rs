//! A provider's signing keys. Fetched on first use, kept for an hour, and fetched again early
//! when a token names a key we do not have (the provider rotated) — but not more than once per
//! [`REFETCH_COOLDOWN`], so tokens with made-up key ids cannot turn us into a request amplifier.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use tokio::sync::Mutex;

use super::{OAuthError, get_json};

const MAX_AGE: Duration = Duration::from_secs(3600);
pub const REFETCH_COOLDOWN: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Cached {
    keys: Vec<Jwk>,
    fetched: Option<Instant>,
    /// When an unknown key id last made us fetch early.
    forced: Option<Instant>,
}

#[derive(Debug)]
pub struct KeySet {
    uri: reqwest::Url,
    cached: Mutex<Cached>,
}

impl KeySet {
    pub fn new(uri: reqwest::Url) -> Self {
        Self { uri, cached: Mutex::new(Cached::default()) }
    }

    /// The key a token's header points at, if the provider publishes it.
    pub async fn find(&self, http: &reqwest::Client, kid: Option<&str>) -> Result<Option<Jwk>, OAuthError> {
        // Held across the fetch so concurrent sign-ins after a rotation fetch once.
        let mut cached = self.cached.lock().await;
        let stale = cached.fetched.is_none_or(|at| at.elapsed() > MAX_AGE);
        if stale {
            cached.keys = fetch(http, &self.uri).await?;
            cached.fetched = Some(Instant::now());
        }
        if let Some(key) = pick(&cached.keys, kid) {
            return Ok(Some(key.clone()));
        }
        let may_refetch = !stale && cached.forced.is_none_or(|at| at.elapsed() > REFETCH_COOLDOWN);
        if !may_refetch {
            return Ok(None);
        }
        cached.forced = Some(Instant::now());
        cached.keys = fetch(http, &self.uri).await?;
        cached.fetched = Some(Instant::now());
        Ok(pick(&cached.keys, kid).cloned())
    }
}

/// A token without `kid` is accepted only when the set has exactly one key: guessing among
/// several would let a token choose its own verification key.
fn pick<'a>(keys: &'a [Jwk], kid: Option<&str>) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.common.key_id.as_deref() == Some(kid)),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
}

async fn fetch(http: &reqwest::Client, uri: &reqwest::Url) -> Result<Vec<Jwk>, OAuthError> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = get_json(http, uri.clone(), None).await?;
    // Keys of kinds we cannot use (encryption keys, symmetric ones) are skipped one by one
    // instead of failing the whole set.
    Ok(document
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter(|jwk| {
            !matches!(jwk.algorithm, jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_))
                && !matches!(jwk.common.public_key_use, Some(jsonwebtoken::jwk::PublicKeyUse::Encryption))
        })
        .collect())
}
