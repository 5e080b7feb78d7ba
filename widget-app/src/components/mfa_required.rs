//! The screen of a session that may do nothing but set up a second factor: the site requires one
//! of the person's role. The account panel's set-up is reused; once the recovery codes are
//! acknowledged, the conversation opens in the same session.

use leptos::prelude::*;

use super::icons::CloseButton;
use super::two_factor::TwoFactor;
use crate::auth;
use crate::chat::Chat;
use crate::i18n::t;

#[component]
pub fn MfaRequired(chat: Chat, on_close: Callback<()>) -> impl IntoView {
    // Nothing else is shown that turning it on could make stale.
    let changed = RwSignal::new(0_u32);
    let on_enrolled = Callback::new(move |()| chat.mfa_enrolled());

    safe_view! {
        <div class="view account" data-testid="mfa-required">
            <header class="panel-header">
                <div class="titles">
                    <h2 class="title">{move || t().two_factor}</h2>
                </div>
                <button type="button" class="text-button" data-testid="sign-out" on:click=move |_| auth::sign_out(chat)>
                    {move || t().sign_out}
                </button>
                <CloseButton on_close/>
            </header>
            <div class="account-body">
                <p class="notice" data-testid="mfa-required-reason" role="status">
                    {move || t().mfa_required_reason}
                </p>
                {move || chat.error.get().map(|text| safe_view! { <p class="form-error" role="alert">{text}</p> })}
                <TwoFactor chat changed on_enrolled/>
            </div>
        </div>
    }
}
