-- Every column that holds a record, user or backup id compares bytes (COLLATE "C"), like the
-- ids it refers to. Version 1 gave the primary keys COLLATE "C" (cursors compare bytes, as
-- SQLite does) but left the columns that refer to them with the database's default collation.
-- A comparison between the two runs in "C", and an index built under the default collation
-- cannot serve it: every read of a person scanned person_tags and person_name_tokens whole
-- (50-140 ms of database CPU per request among 100,000 people, docs/benchmarks.md section 4e),
-- and the join to a person's key scanned the key store. Changing a collation rebuilds the
-- column's indexes. A test (migrate.rs) keeps every *_id column so.
ALTER TABLE user_units ALTER COLUMN user_id TYPE TEXT COLLATE "C";
ALTER TABLE sessions ALTER COLUMN user_id TYPE TEXT COLLATE "C";
ALTER TABLE companies ALTER COLUMN owner_id TYPE TEXT COLLATE "C", ALTER COLUMN company_id TYPE TEXT COLLATE "C", ALTER COLUMN deal_id TYPE TEXT COLLATE "C", ALTER COLUMN person_id TYPE TEXT COLLATE "C";
ALTER TABLE people ALTER COLUMN owner_id TYPE TEXT COLLATE "C", ALTER COLUMN company_id TYPE TEXT COLLATE "C";
ALTER TABLE person_tags ALTER COLUMN person_id TYPE TEXT COLLATE "C";
ALTER TABLE person_name_tokens ALTER COLUMN person_id TYPE TEXT COLLATE "C";
ALTER TABLE deals ALTER COLUMN owner_id TYPE TEXT COLLATE "C", ALTER COLUMN company_id TYPE TEXT COLLATE "C", ALTER COLUMN deal_id TYPE TEXT COLLATE "C", ALTER COLUMN person_id TYPE TEXT COLLATE "C";
ALTER TABLE activities ALTER COLUMN owner_id TYPE TEXT COLLATE "C", ALTER COLUMN company_id TYPE TEXT COLLATE "C", ALTER COLUMN deal_id TYPE TEXT COLLATE "C", ALTER COLUMN person_id TYPE TEXT COLLATE "C";
ALTER TABLE dsr_requests ALTER COLUMN person_id TYPE TEXT COLLATE "C";
ALTER TABLE erasure_ledger ALTER COLUMN subject_id TYPE TEXT COLLATE "C";
ALTER TABLE keystore ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE role_grants ALTER COLUMN requested_by_id TYPE TEXT COLLATE "C";
ALTER TABLE restore_state ALTER COLUMN backup_id TYPE TEXT COLLATE "C";
