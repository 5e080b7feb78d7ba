-- A person's role on their site: owner, admin, moderator or member.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member';

-- The roles that must use a second factor on this site (comma-separated).
ALTER TABLE sites ADD COLUMN mfa_required_roles TEXT NOT NULL DEFAULT 'owner,admin,moderator';

-- Set at sign-in when the person's role requires a second factor they have not set up: such a
-- session may do nothing but set one up (and see or end sessions).
ALTER TABLE sessions ADD COLUMN mfa_pending BOOLEAN NOT NULL DEFAULT FALSE;
