-- Who may create an account on the site: anyone who asks ('open'), or only the people an
-- operator invites ('invite_only').
ALTER TABLE sites ADD COLUMN sign_up TEXT NOT NULL DEFAULT 'open';

-- Housekeeping deletes the site's messages older than this many days; NULL keeps them forever.
ALTER TABLE sites ADD COLUMN retention_days INTEGER;

-- Lets that deletion find old messages without reading every message of a room.
CREATE INDEX messages_room_sent ON messages (room_id, sent_at);

-- Whether an operator sent this sign-up link. Only such links create an account on an
-- invite-only site, so a link someone asked for while the site was open dies with the switch.
ALTER TABLE sign_ups ADD COLUMN invited BOOLEAN NOT NULL DEFAULT FALSE;
