-- The audit trail: one row per security-relevant event, named in the OWASP logging vocabulary
-- (authn_login_fail, crypt_decrypt_fail, ...). Rows are only ever appended. site_id and
-- actor_id carry no foreign keys on purpose: the trail must outlive the sites and accounts it
-- describes. ids are UUIDv7, so ordering by id is ordering by time.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    outcome TEXT NOT NULL,
    site_id TEXT,
    actor_id TEXT,
    ip TEXT,
    user_agent TEXT,
    details TEXT NOT NULL
);

CREATE INDEX audit_events_site ON audit_events (site_id, id);
CREATE INDEX audit_events_event ON audit_events (event, id);
