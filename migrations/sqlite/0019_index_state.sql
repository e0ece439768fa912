-- Versions of the derived indexes that only core can rebuild (they need the keys): when a new
-- Sejf derives an index differently, the servers rebuild it in the background and record the
-- version here. 'names' 2: name tokens of NFC text plus their prefixes (ADR 0003).
CREATE TABLE index_state (
    name TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL
) STRICT;
-- A database with people holds version-1 name tokens; an empty one starts current.
INSERT INTO index_state (name, version) SELECT 'names', CASE WHEN EXISTS (SELECT 1 FROM people) THEN 1 ELSE 2 END;
