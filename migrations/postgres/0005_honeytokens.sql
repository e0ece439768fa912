-- Honeytoken people: records planted by administrators that look real; any read, search hit
-- or export of one raises a high-severity alert naming the actor. Apart from the people table,
-- so nothing in a person's row tells a curious insider which ones are bait.
CREATE TABLE honeytokens (
    person_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    created_at BIGINT NOT NULL
);
