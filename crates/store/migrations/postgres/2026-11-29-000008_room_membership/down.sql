DROP INDEX rooms_direct_pair;
ALTER TABLE rooms DROP COLUMN direct_key;
ALTER TABLE rooms DROP COLUMN created_by;
DROP TABLE room_members;
