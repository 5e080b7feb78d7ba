-- Password-reset links: a random token (stored hashed), single use, short-lived.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE INDEX password_resets_user ON password_resets (user_id);
CREATE INDEX password_resets_expiry ON password_resets (expires_at);

-- An operator can disable an account: it then cannot sign in and its sessions end at once.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
