-- Sign-ups waiting for their email to be confirmed. The account is only created when the link
-- is used, so a row here is not an account: it never signs in, and answers about an email are
-- the same whether or not one is pending. The email is sealed like users.email_sealed, bound
-- to the id the account will get.
CREATE TABLE sign_ups (
    token_hash TEXT PRIMARY KEY NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    email_index TEXT NOT NULL,
    email_sealed BYTEA NOT NULL,
    email_key_id INTEGER NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sign_ups_email ON sign_ups (site_id, email_index);
CREATE INDEX sign_ups_expiry ON sign_ups (expires_at);
CREATE INDEX sign_ups_key ON sign_ups (email_key_id);
