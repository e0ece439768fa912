-- Sejf schema, version 1 (SQLite).
--
-- Kept column-for-column in lockstep with migrations/postgres/0001_initial.sql: the same tables,
-- the same columns, the same constraints. Only the type names differ (INTEGER / BLOB here,
-- BIGINT / BYTEA there) and the database clock expression of keystore.created_at. Tables are
-- STRICT so a value of the wrong type is refused instead of being stored silently.
--
-- Portable encodings: ids are hyphenated lower-case UUID text (UUIDv7, so ORDER BY id is
-- creation order), booleans are 0/1 integers, times are unix microseconds.
--
-- The migration runner splits this file on lines that end with a semicolon: keep semicolons
-- out of the middle of statements and out of the ends of comment lines.

CREATE TABLE units (
    slug TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;

-- ord keeps a user's units in the order they were given: the first one is the default unit of
-- the records the user creates.
CREATE TABLE user_units (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    unit TEXT NOT NULL REFERENCES units (slug),
    ord INTEGER NOT NULL,
    PRIMARY KEY (user_id, unit)
) STRICT;

CREATE INDEX user_units_unit ON user_units (unit);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);

-- Wrapped keys live apart from the data tables: no foreign key ties a subject key to its
-- person, so destroying either never needs the other, and the key store can be backed up,
-- restored and audited on its own. created_at defaults to the database clock because the
-- key-store port passes no time.
CREATE TABLE keystore (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    master_version INTEGER NOT NULL,
    wrapped BLOB NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)),
    PRIMARY KEY (kind, id)
) STRICT;

-- Companies come before people: people.company_id references them. A company's own link
-- columns are plain text (a company points at nothing that must exist).
CREATE TABLE companies (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id),
    unit TEXT NOT NULL REFERENCES units (slug),
    person_id TEXT,
    company_id TEXT,
    deal_id TEXT,
    attrs TEXT NOT NULL,
    payload BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX companies_owner ON companies (owner_id);
CREATE INDEX companies_unit ON companies (unit);

-- Personal fields are ciphertext blobs; the *_bidx columns are truncated blind indexes.
CREATE TABLE people (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id),
    unit TEXT NOT NULL REFERENCES units (slug),
    company_id TEXT REFERENCES companies (id) ON DELETE SET NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    first_name BLOB,
    last_name BLOB,
    email BLOB,
    phone BLOB,
    national_id BLOB,
    birth_date BLOB,
    address BLOB,
    notes BLOB,
    email_bidx INTEGER,
    phone_bidx INTEGER,
    national_id_bidx INTEGER
) STRICT;

CREATE INDEX people_email_bidx ON people (email_bidx);
CREATE INDEX people_phone_bidx ON people (phone_bidx);
CREATE INDEX people_national_id_bidx ON people (national_id_bidx);
CREATE INDEX people_owner ON people (owner_id);
CREATE INDEX people_unit ON people (unit);
CREATE INDEX people_company ON people (company_id);

CREATE TABLE person_tags (
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (person_id, tag)
) STRICT;

CREATE INDEX person_tags_tag ON person_tags (tag);

CREATE TABLE person_name_tokens (
    token INTEGER NOT NULL,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (token, person_id)
) STRICT;

CREATE INDEX person_name_tokens_person ON person_name_tokens (person_id);

CREATE TABLE deals (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id),
    unit TEXT NOT NULL REFERENCES units (slug),
    person_id TEXT REFERENCES people (id) ON DELETE SET NULL,
    company_id TEXT REFERENCES companies (id) ON DELETE SET NULL,
    deal_id TEXT,
    attrs TEXT NOT NULL,
    payload BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX deals_owner ON deals (owner_id);
CREATE INDEX deals_unit ON deals (unit);
CREATE INDEX deals_person ON deals (person_id);
CREATE INDEX deals_company ON deals (company_id);

-- An activity is about a person: erasing the person removes it (ON DELETE CASCADE), while a
-- deleted company or deal only unlinks it.
CREATE TABLE activities (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id),
    unit TEXT NOT NULL REFERENCES units (slug),
    person_id TEXT REFERENCES people (id) ON DELETE CASCADE,
    company_id TEXT REFERENCES companies (id) ON DELETE SET NULL,
    deal_id TEXT REFERENCES deals (id) ON DELETE SET NULL,
    attrs TEXT NOT NULL,
    payload BLOB NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX activities_owner ON activities (owner_id);
CREATE INDEX activities_unit ON activities (unit);
CREATE INDEX activities_person ON activities (person_id);
CREATE INDEX activities_company ON activities (company_id);
CREATE INDEX activities_deal ON activities (deal_id);
