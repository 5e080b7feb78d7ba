-- The earlier versions of edited messages, each sealed under its own row (not moved over from
-- messages.body_sealed), so a version cannot be swapped back into the message unnoticed.
-- Deleting a message removes them too: a deletion takes away every version of the words.
CREATE TABLE message_edits (
    id TEXT PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    replaced_at BIGINT NOT NULL,
    body_sealed BYTEA NOT NULL,
    body_key_id INTEGER NOT NULL
);

CREATE INDEX message_edits_message ON message_edits (message_id, replaced_at);
CREATE INDEX message_edits_key ON message_edits (body_key_id);

-- A deleted message keeps its row and its place in the room (a tombstone) but not its text:
-- body_sealed is emptied and body_key_id set to 0, which no data key has.
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_by TEXT REFERENCES users (id) ON DELETE SET NULL;
