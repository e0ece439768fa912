-- The processor (vendor) register and the breach register (GDPR Art. 28, 30, 33, 34;
-- docs/adr/0025-processors-and-breaches.md). Both are small registers a dpo keeps by hand, so an
-- entry is one JSON document that core validates and the store keeps as it is; `kind` is
-- 'processor' or 'breach'.
CREATE TABLE gdpr_registers (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;

-- Who received a person's data (Art. 15(1)(c), Art. 19): one row per person per disclosure to a
-- registered processor, with the purpose and the categories sent. Goes with the person at
-- erasure, after the erasure has listed the recipients to tell.
CREATE TABLE disclosures (
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    processor TEXT NOT NULL,
    purpose TEXT NOT NULL,
    categories TEXT NOT NULL,
    disclosed_at INTEGER NOT NULL,
    PRIMARY KEY (person_id, processor, disclosed_at)
) STRICT;
