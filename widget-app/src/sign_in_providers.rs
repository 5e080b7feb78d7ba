//! The providers the site offers for signing in, and the PKCE pair of the next provider sign-in.
//! Created once with the app: the sign-in form is remounted on every sign-out, and the list
//! comes from an endpoint under the per-address sign-in rate limit, so it is asked for once per
//! page load rather than once per form.

use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::oauth::OAuthProvider;

use crate::api;
use crate::browser;
use crate::config::Config;
use crate::pkce::Pkce;

#[derive(Debug, Clone, Copy)]
pub struct SignInProviders {
    /// Shown only once a PKCE pair is ready too, so a click never finds none.
    list: RwSignal<Vec<OAuthProvider>>,
    /// Whether the list was asked for (and is not to be asked again) on this page.
    asked: StoredValue<bool>,
    /// Made ahead: the popup must open within the click handler itself (popup blockers take
    /// anything later for an unrequested popup), and hashing is asynchronous.
    next: StoredValue<Option<Pkce>>,
}

impl SignInProviders {
    pub fn new() -> Self {
        Self { list: RwSignal::new(Vec::new()), asked: StoredValue::new(false), next: StoredValue::new(None) }
    }

    /// Loads the list, once per page; a failure leaves no buttons and the password form.
    pub fn load(&self, config: Config) {
        if self.asked.get_value() {
            return;
        }
        self.asked.set_value(true);
        let this = *self;
        spawn_local(async move {
            let Ok(found) = api::oauth_providers(&config).await else {
                // Asked again by the next form: this one was rate limited or offline.
                this.asked.set_value(false);
                return;
            };
            if found.providers.is_empty() {
                return;
            }
            let Some(pair) = Pkce::generate().await else {
                browser::log_warning("Palisade: signing in with a provider needs Web Crypto (an https page).");
                return;
            };
            this.next.set_value(Some(pair));
            this.list.set(found.providers);
        });
    }

    /// The providers to offer, tracked.
    pub fn list(&self) -> Vec<OAuthProvider> {
        self.list.get()
    }

    pub fn is_empty(&self) -> bool {
        self.list.with(Vec::is_empty)
    }

    /// The prepared pair, for one sign-in; the next one is made at once.
    pub fn take_pkce(&self) -> Option<Pkce> {
        let pair = self.next.try_update_value(Option::take).flatten();
        let next = self.next;
        spawn_local(async move {
            if let Some(pair) = Pkce::generate().await {
                next.set_value(Some(pair));
            }
        });
        pair
    }
}
