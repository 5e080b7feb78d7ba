DROP TABLE messages;
DROP TABLE rooms;
DROP TABLE users;
DROP TABLE vault_keys;
DROP TABLE site_origins;
DROP TABLE sites;
