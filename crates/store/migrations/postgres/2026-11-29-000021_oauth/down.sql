DROP TABLE oauth_link_intents;
DROP TABLE oauth_login_codes;
DROP TABLE oauth_transactions;
DROP TABLE oauth_identities;
