-- Bulk exports above a role's threshold wait for a second person's approval (four-eyes). A
-- request keeps the ids of the people it covered when it was made (16 bytes each), so the
-- approver approves exactly those records; ids, slugs and counts only, never a personal value.
-- status: pending, approved, rejected or downloaded (an approved request past expires_at is
-- reported as expired). Times are Unix microseconds; 0 and '' mean "not yet".
CREATE TABLE export_requests (
    id TEXT PRIMARY KEY NOT NULL,
    requester_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    requester TEXT NOT NULL,
    purpose TEXT NOT NULL,
    filter TEXT NOT NULL,
    people BLOB NOT NULL,
    record_count INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    expires_at INTEGER NOT NULL DEFAULT 0,
    downloaded_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX export_requests_requester ON export_requests (requester_id, id);
CREATE INDEX export_requests_status ON export_requests (status, id);
