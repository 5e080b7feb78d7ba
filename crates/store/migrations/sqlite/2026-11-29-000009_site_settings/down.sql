ALTER TABLE sign_ups DROP COLUMN invited;
DROP INDEX messages_room_sent;
ALTER TABLE sites DROP COLUMN retention_days;
ALTER TABLE sites DROP COLUMN sign_up;
