-- Resumable imports (`sejf import --resume`, docs/adr/0023-imports.md): one row per file (its
-- SHA-256), with how many of its data rows are committed. Updated in the same transaction as
-- each batch of people, so after a kill the count is exactly what is in the database.
CREATE TABLE import_jobs (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    rows_done BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished BIGINT NOT NULL
);
