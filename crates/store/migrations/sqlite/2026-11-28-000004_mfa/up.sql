-- A person's TOTP authenticator. The secret is sealed by the vault (bound to the user id);
-- enabled only after a correct code proves the app has it. last_step is the newest time step
-- a code was accepted for: a code is only accepted for a later step, so none is used twice.
CREATE TABLE mfa_totp (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed BYTEA NOT NULL,
    secret_key_id INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE INDEX mfa_totp_key ON mfa_totp (secret_key_id);

-- Hashes of single-use recovery codes.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Half-finished sign-ins: the password was right, the second factor is still owed. The ticket
-- is random and stored hashed; it is single use and short-lived.
CREATE TABLE mfa_challenges (
    ticket_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX mfa_challenges_expiry ON mfa_challenges (expires_at);
