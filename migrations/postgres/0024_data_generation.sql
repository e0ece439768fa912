-- The generation of the data SQLite's readers read (ADR 0028), kept by triggers on SQLite only:
-- on PostgreSQL every statement reads the newest commit and nothing reads this table. It is
-- here so that both engines have the same tables (and a backup restores across them).
CREATE TABLE data_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO data_generation (id, n) VALUES (1, 0);
