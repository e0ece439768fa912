-- Mandatory TOTP, recovery codes, service accounts and API tokens.
-- The TOTP secret is stored encrypted (AES-256-GCM-SIV under a key from the key store); recovery
-- codes only as SHA-256 digests salted with the user id; a session's scope is "full", "enroll"
-- (may only enrol TOTP) or "api <scope> <scope>…" for an integration token.
ALTER TABLE users ADD COLUMN service INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_pending BLOB;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';
ALTER TABLE sessions ADD COLUMN label TEXT NOT NULL DEFAULT '';
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;
