-- A session is one signed-in device. Access tokens name it (sid) and stop working the moment it
-- is revoked; its refresh tokens rotate on every use. A used token is kept (hashed) until the
-- session ends, so presenting it again is recognised as theft and ends the whole session.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    device TEXT NOT NULL,
    ip TEXT,
    revoked_at BIGINT,
    revoked_reason TEXT
);

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- retired: never presented, but replaced because its predecessor was presented again within
-- the grace period (the answer carrying it was lost); presenting it later is reuse.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    retired BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Sign-in failures per (site, email blind index), whether or not an account has that email, so
-- the throttle behaves the same for both and reveals nothing. scope is the client's network
-- for the exponential back-off (so failures from an attacker's network do not lock the owner
-- out from theirs) or 'account' for the hourly cap across all networks.
CREATE TABLE login_throttle (
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    email_index TEXT NOT NULL,
    scope TEXT NOT NULL,
    consecutive INTEGER NOT NULL,
    blocked_until BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    window_failures INTEGER NOT NULL,
    PRIMARY KEY (site_id, email_index, scope)
);

CREATE INDEX login_throttle_blocked ON login_throttle (blocked_until);
