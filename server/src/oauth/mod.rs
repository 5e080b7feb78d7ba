//! Sign-in providers as the server runs them: built once from the configuration, each with
//! the sites that offer it. The flow itself is in `routes::oauth`; the popup page in [`popup`].

pub mod popup;
pub mod settings;

use std::collections::BTreeMap;

use palisade_auth::oauth::{Provider, ProviderSettings};
use palisade_protocol::SitePublicId;
use palisade_protocol::oauth::OAuthProvider;

pub use settings::OAuthConfig;

use crate::config::Config;

#[derive(Debug)]
pub struct Entry {
    pub provider: Provider,
    pub label: String,
    sites: Vec<String>,
}

impl Entry {
    fn offered_on(&self, site: &SitePublicId) -> bool {
        self.sites.is_empty() || self.sites.iter().any(|s| s == site.as_str())
    }
}

#[derive(Debug, Default)]
pub struct Providers {
    entries: BTreeMap<String, Entry>,
}

/// The redirect URI to register at a provider: fixed per provider, so the provider compares
/// it exactly and a response can only come back to the callback of the provider that made it.
pub fn redirect_uri(public_url: &str, id: &str) -> String {
    format!("{}/api/v1/auth/oauth/{id}/callback", public_url.trim_end_matches('/'))
}

impl Providers {
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let mut entries = BTreeMap::new();
        for (id, p) in &config.oauth.providers {
            let settings = ProviderSettings {
                id: id.clone(),
                kind: p.kind,
                issuer: p.issuer.clone(),
                client_id: p.client_id.clone(),
                client_secret: p.client_secret.as_ref().map(|s| s.expose().to_owned()).unwrap_or_default(),
                scopes: p.scopes.clone(),
                redirect_uri: redirect_uri(&config.public_url, id),
            };
            let provider = Provider::new(settings).map_err(|e| format!("oauth provider {id}: {e}"))?;
            let label = p.label.clone().unwrap_or_else(|| id.clone());
            entries.insert(id.clone(), Entry { provider, label, sites: p.sites.clone() });
        }
        Ok(Self { entries })
    }

    /// The provider `id` if `site` offers it.
    pub fn get(&self, id: &str, site: &SitePublicId) -> Option<&Entry> {
        self.entries.get(id).filter(|e| e.offered_on(site))
    }

    /// The provider `id` whatever the site (the callback learns the site from the transaction).
    pub fn by_id(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }

    pub fn buttons(&self, site: &SitePublicId) -> Vec<OAuthProvider> {
        self.entries
            .iter()
            .filter(|(_, e)| e.offered_on(site))
            .map(|(id, e)| OAuthProvider { id: id.clone(), label: e.label.clone() })
            .collect()
    }
}
