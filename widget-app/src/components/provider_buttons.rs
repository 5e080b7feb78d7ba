//! One button per sign-in provider the site offers (none: nothing is shown). A click opens the
//! provider's popup and redeems the code it posts; the answer goes to the sign-in form, which
//! finishes it exactly as it finishes a password sign-in (the second factor included).

use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::ErrorCode;
use palisade_protocol::oauth::OAuthProvider;

use crate::api::{self, ApiError, SignIn};
use crate::chat::Chat;
use crate::i18n::t;
use crate::oauth_popup::Popup;
use crate::sign_in_providers::SignInProviders;

/// `busy` is the form's: one sign-in at a time. `error` is where failures are told.
/// `on_answer` gets the server's answer to the exchange.
#[component]
pub fn ProviderButtons(
    chat: Chat,
    providers: SignInProviders,
    shown: Memo<bool>,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    on_answer: Callback<Result<SignIn, ApiError>>,
) -> impl IntoView {
    // Asked for only where the buttons would show: a page opened on a mailed link's form needs
    // none, and the list costs a request of the per-address sign-in budget.
    Effect::new(move |_| {
        if shown.get() {
            providers.load(chat.config());
        }
    });
    let waiting = RwSignal::new(false);
    // Gone with the form: a popup still open then is no longer waited for.
    let mounted = StoredValue::new(());

    let start = move |provider: OAuthProvider| {
        if busy.get_untracked() {
            return;
        }
        let Some(pair) = providers.take_pkce() else {
            error.set(Some(t().just_a_moment.to_owned()));
            return;
        };
        let config = chat.config();
        let popup = match Popup::open(&config, &provider.id, pair.challenge()) {
            Ok(popup) => popup,
            Err(err) => {
                error.set(Some(err.user_message(&provider.label)));
                return;
            }
        };
        error.set(None);
        busy.set(true);
        waiting.set(true);
        spawn_local(async move {
            let cancelled = move || mounted.try_get_value().is_none();
            let code = popup.code(cancelled).await;
            let _ = waiting.try_set(false);
            let answer = match code {
                Ok(code) => Ok(api::oauth_exchange(&config, code, pair.into_verifier()).await),
                Err(err) => Err(err.user_message(&provider.label)),
            };
            if cancelled() {
                return;
            }
            busy.set(false);
            match answer {
                // Sixty seconds, single use: a popup left on its last page too long.
                Ok(Err(err)) if err.code() == Some(ErrorCode::Unauthenticated) => {
                    error.set(Some(t().provider_sign_in_expired.to_owned()));
                }
                Ok(answer) => on_answer.run(answer),
                Err(message) => error.set(Some(message)),
            }
        });
    };

    safe_view! {
        <Show when=move || shown.get() && !providers.is_empty()>
            <div class="providers" role="group" aria-label=move || t().sign_in_with>
                <p class="providers-or" aria-hidden="true">{move || t().or}</p>
                // Loaded once, so a plain list: no keyed diffing needed.
                {move || {
                    providers
                        .list()
                        .into_iter()
                        .map(|provider| safe_view! {
                            <button
                                type="button"
                                class="secondary provider"
                                data-testid="oauth-provider"
                                data-provider=provider.id.clone()
                                disabled=move || busy.get()
                                on:click={
                                    let provider = provider.clone();
                                    move |_| start(provider.clone())
                                }
                            >
                                {provider.label.clone()}
                            </button>
                        })
                        .collect_view()
                }}
                {move || waiting.get().then(|| safe_view! {
                    <p class="hint" data-testid="oauth-waiting" role="status">
                        {move || t().finish_in_window}
                    </p>
                })}
            </div>
        </Show>
    }
}
