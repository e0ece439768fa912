-- The name index holds prefixes of three to six characters, and a short token itself (ADR 0034):
-- 'names' 3. A database with people keeps its version-2 index (every prefix, so searches find
-- its people meanwhile) until the server rebuilds it in the background or `sejf reindex` does;
-- an empty one starts current.
UPDATE index_state SET version = 3 WHERE name = 'names' AND version = 2 AND NOT EXISTS (SELECT 1 FROM people);
