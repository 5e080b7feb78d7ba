CREATE TABLE sites (
    id TEXT PRIMARY KEY NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE site_origins (
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    origin TEXT NOT NULL,
    PRIMARY KEY (site_id, origin)
);

-- Data-encryption keys, only ever stored wrapped by the key-encryption key (which never
-- enters the database). Exactly one is active.
CREATE TABLE vault_keys (
    id INTEGER PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- Emails are sealed; email_index is a keyed HMAC (a blind index) for lookup and for uniqueness
-- per site. *_key_id names the data key a value is sealed under, so re-encryption after a
-- rotation can find what is left without opening everything.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    email_index TEXT NOT NULL,
    email_sealed BYTEA NOT NULL,
    email_key_id INTEGER NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (site_id, email_index)
);

CREATE INDEX users_email_key ON users (email_key_id);

-- last_seq is the per-room counter that gives every message its place; bumping it first in the
-- insert transaction serialises writers of one room without blocking other rooms.
CREATE TABLE rooms (
    id TEXT PRIMARY KEY NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    last_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX rooms_one_default_per_site ON rooms (site_id) WHERE is_default;
CREATE INDEX rooms_site ON rooms (site_id);

-- (room_id, author_id, client_id) makes a retried send land once.
CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    body_sealed BYTEA NOT NULL,
    body_key_id INTEGER NOT NULL,
    sent_at BIGINT NOT NULL,
    UNIQUE (room_id, seq),
    UNIQUE (room_id, author_id, client_id)
);

CREATE INDEX messages_body_key ON messages (body_key_id);
