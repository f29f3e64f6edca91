-- raw.load_rejects: one row per (run, table, key), each with the time its item was first
-- quarantined; retried runs had added a copy per attempt. Keys of versioned tables now
-- name the version too ("DOC-1 (version 2)", etl_bundle.invoice.transforms.item_key), so
-- two versions of one document rejected in a run stay two rows.
UPDATE raw.load_rejects
SET item_key = item_key || ' (version ' || (raw_item ->> 'version') || ')'
WHERE table_name IN ('cases', 'templates')
  AND raw_item ->> 'version' IS NOT NULL
  AND item_key NOT LIKE '% (version %)';

ALTER TABLE raw.load_rejects ADD COLUMN first_seen_at TIMESTAMPTZ;
UPDATE raw.load_rejects AS r
SET first_seen_at = f.first_seen_at
FROM (
    SELECT table_name, item_key, min(rejected_at) AS first_seen_at
    FROM raw.load_rejects
    GROUP BY table_name, item_key
) AS f
WHERE f.table_name = r.table_name AND f.item_key = r.item_key;
ALTER TABLE raw.load_rejects
    ALTER COLUMN first_seen_at SET DEFAULT now(),
    ALTER COLUMN first_seen_at SET NOT NULL;

-- The retries' copies go; the first attempt's row stays.
DELETE FROM raw.load_rejects AS r
USING raw.load_rejects AS kept
WHERE kept.run_id IS NOT DISTINCT FROM r.run_id
  AND kept.table_name = r.table_name
  AND kept.item_key = r.item_key
  AND kept.id < r.id;

CREATE UNIQUE INDEX load_rejects_once_per_run
    ON raw.load_rejects (run_id, table_name, item_key) NULLS NOT DISTINCT;
-- The insert's first-seen lookup, and the retention's delete.
CREATE INDEX load_rejects_by_item ON raw.load_rejects (table_name, item_key, first_seen_at);
CREATE INDEX load_rejects_by_age ON raw.load_rejects (rejected_at);
