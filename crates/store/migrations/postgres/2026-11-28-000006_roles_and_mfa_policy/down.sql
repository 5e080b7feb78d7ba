ALTER TABLE sessions DROP COLUMN mfa_pending;
ALTER TABLE sites DROP COLUMN mfa_required_roles;
ALTER TABLE users DROP COLUMN role;
