//! The `[oauth.providers.<id>]` tables of `palisade.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use palisade_auth::oauth::ProviderKind;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Secret};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    /// By id: the path segment (`/api/v1/auth/oauth/<id>/…`) and half of every account key,
    /// so it must not change once people have signed in with it.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// The button's text; default: the id.
    #[serde(default)]
    pub label: Option<String>,
    /// `oidc`: the issuer URL, exactly as the provider's discovery document names it.
    /// `github`: a GitHub Enterprise Server's address (default: github.com).
    #[serde(default)]
    pub issuer: Option<String>,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Default: the least the kind needs (`openid email profile`; GitHub `read:user user:email`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Public ids of the sites that offer it; empty: every site.
    #[serde(default)]
    pub sites: Vec<String>,
}

fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl OAuthConfig {
    /// Reads `client_secret_file`s and checks what can be checked without the network.
    pub fn resolve(&mut self) -> Result<(), ConfigError> {
        for (id, provider) in &mut self.providers {
            if !valid_id(id) {
                return Err(ConfigError::Value(format!(
                    "oauth provider id {id:?}: use 1 to 32 lowercase letters, digits or '-'"
                )));
            }
            if let Some(path) = &provider.client_secret_file {
                if provider.client_secret.is_some() {
                    return Err(ConfigError::Value(format!(
                        "oauth provider {id}: set client_secret or client_secret_file, not both"
                    )));
                }
                let secret = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::SecretFile { path: path.clone(), source })?;
                provider.client_secret = Some(Secret::new(secret.trim_end_matches(['\n', '\r'])));
            }
            if provider.client_secret.is_none() {
                return Err(ConfigError::Value(format!("oauth provider {id}: client_secret is required")));
            }
            if provider.kind == ProviderKind::Oidc && provider.issuer.is_none() {
                return Err(ConfigError::Value(format!("oauth provider {id}: kind oidc needs issuer")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::result_large_err)] // figment::Jail fixes the closure's error type.
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    #[test]
    fn providers_come_from_toml_with_secrets_from_files() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "palisade.toml",
                "[oauth.providers.company]\nkind = \"oidc\"\nissuer = \"https://id.example\"\nclient_id = \"p\"\n\
                 client_secret_file = \"secret\"\n[oauth.providers.github]\nkind = \"github\"\nclient_id = \"g\"\n",
            )?;
            jail.create_file("secret", "s3cret\n")?;
            jail.set_env("PALISADE_OAUTH__PROVIDERS__GITHUB__CLIENT_SECRET", "from-env");
            let config = Config::load(Some(Path::new("palisade.toml"))).map_err(|e| e.to_string())?;
            let company = &config.oauth.providers["company"];
            assert_eq!(company.client_secret.as_ref().map(Secret::expose), Some("s3cret"));
            assert_eq!(config.oauth.providers["github"].kind, ProviderKind::Github);
            assert!(!format!("{config:?}").contains("s3cret"));
            Ok(())
        });
    }

    #[test]
    fn bad_ids_missing_secrets_and_issuers_are_errors() {
        for toml in [
            "[oauth.providers.Bad_Id]\nkind = \"github\"\nclient_id = \"g\"\nclient_secret = \"s\"\n",
            "[oauth.providers.github]\nkind = \"github\"\nclient_id = \"g\"\n",
            "[oauth.providers.company]\nkind = \"oidc\"\nclient_id = \"p\"\nclient_secret = \"s\"\n",
            "[oauth.providers.github]\nkind = \"github\"\nclient_id = \"g\"\nclient_secret = \"s\"\ntypo = 1\n",
        ] {
            figment::Jail::expect_with(|jail| {
                jail.create_file("palisade.toml", toml)?;
                assert!(Config::load(Some(Path::new("palisade.toml"))).is_err(), "{toml}");
                Ok(())
            });
        }
    }
}
