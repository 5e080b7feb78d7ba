-- Who is in which room, how far each has read, and who is banned from it. A channel can be
-- read without a row here; a private, direct or support room only by the people it lists (and,
-- for support rooms, the site's staff). A banned row keeps its place so the ban outlives leaving.
CREATE TABLE room_members (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    banned BOOLEAN NOT NULL DEFAULT FALSE,
    read_seq BIGINT NOT NULL DEFAULT 0,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE INDEX room_members_user ON room_members (user_id);

-- created_by: for a support room, the person who asked for help.
-- direct_key: for a direct room, the two user ids in order, so one pair gets one room even when
-- both start it at the same moment.
ALTER TABLE rooms ADD COLUMN created_by TEXT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE rooms ADD COLUMN direct_key TEXT;
CREATE UNIQUE INDEX rooms_direct_pair ON rooms (site_id, direct_key) WHERE direct_key IS NOT NULL;

-- Everyone already on a site is in its default channel, with nothing unread.
INSERT INTO room_members (room_id, user_id, banned, read_seq, joined_at)
SELECT r.id, u.id, FALSE, r.last_seq, u.created_at
FROM rooms r JOIN users u ON u.site_id = r.site_id
WHERE r.is_default;
