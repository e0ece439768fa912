-- Resumable imports (`sejf import --resume`, docs/adr/0023-imports.md): one row per file (its
-- SHA-256), with how many of its data rows are committed. Updated in the same transaction as
-- each batch of people, so after a kill the count is exactly what is in the database.
CREATE TABLE import_jobs (
    id TEXT PRIMARY KEY NOT NULL,
    rows_done INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished INTEGER NOT NULL
) STRICT;
