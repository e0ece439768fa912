-- Separation of duties in user administration.
--
-- An account created or given a new password through the admin API must change that password
-- at its first sign-in, so the administrator who set it never holds a working credential
-- (`sejf user add` on the host leaves it 0).
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;

-- A grant of a privileged role (admin, manager, dpo, auditor) through the admin API waits for
-- a second administrator. kind: 'create' (the account was created disabled and is enabled on
-- approval) or 'role' (the role is set on approval). status: pending, approved or refused.
-- Times are Unix microseconds; 0 and '' mean "not yet".
CREATE TABLE role_grants (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    kind TEXT NOT NULL,
    requested_by_id TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX role_grants_status ON role_grants (status, id);
