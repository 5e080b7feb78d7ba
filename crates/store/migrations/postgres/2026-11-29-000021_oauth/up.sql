-- Accounts signed in through an OAuth/OpenID provider are keyed by (provider, subject) within
-- the site: the provider's email never finds or merges an account.
CREATE TABLE oauth_identities (
    id TEXT PRIMARY KEY NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    UNIQUE (site_id, provider, subject)
);

CREATE INDEX oauth_identities_user ON oauth_identities (user_id);

-- A sign-in in progress in a popup: found by the hash of its state, bound to the popup's
-- browser by the hash of a cookie, used once, gone after expires_at. The PKCE verifier and the
-- nonce are only useful together with the code the provider sends to this browser.
CREATE TABLE oauth_transactions (
    state_hash TEXT PRIMARY KEY NOT NULL,
    binding_hash TEXT NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    origin TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    -- Set when a signed-in person links this provider to their account instead of signing in.
    link_user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);

CREATE INDEX oauth_transactions_expiry ON oauth_transactions (expires_at);

-- The one-time code the popup hands to the widget, redeemed with the widget's PKCE verifier.
CREATE TABLE oauth_login_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX oauth_login_codes_expiry ON oauth_login_codes (expires_at);

-- A signed-in person's request (after re-entering their password) to link a provider: redeemed
-- once by the popup's start, which turns it into a transaction.
CREATE TABLE oauth_link_intents (
    ticket_hash TEXT PRIMARY KEY NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX oauth_link_intents_expiry ON oauth_link_intents (expires_at);
