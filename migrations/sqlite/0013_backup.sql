-- Backups (docs/adr/0019-backups.md). The erasure ledger: one row per crypto-shredded data
-- subject, its id and when, nothing personal. Every erasure appends to it in the erasure's own
-- transaction, every backup carries it, and every restore re-applies the newest one it can find,
-- so an erased person never comes back from an old backup.
CREATE TABLE erasure_ledger (
    subject_id TEXT PRIMARY KEY NOT NULL,
    erased_at INTEGER NOT NULL
) STRICT;
-- A restore in progress: written (committed) before the restored data, deleted in the data's
-- transaction. While the row exists `sejf serve` refuses to start.
CREATE TABLE restore_state (
    id INTEGER PRIMARY KEY NOT NULL,
    backup_id TEXT NOT NULL,
    started_at INTEGER NOT NULL
) STRICT;
