-- Once per (run, table, key) (load_rejects_once_per_run): a retry of the run adds nothing.
-- first_seen_at: when this item was first quarantined by any run still on record.
INSERT INTO raw.load_rejects (run_id, table_name, item_key, field, reason, raw_item, first_seen_at)
VALUES (
    %(run_id)s, %(table_name)s, %(item_key)s, %(field)s, %(reason)s, %(raw_item)s,
    coalesce(
        (SELECT min(r.first_seen_at) FROM raw.load_rejects AS r
         WHERE r.table_name = %(table_name)s AND r.item_key = %(item_key)s),
        now()
    )
)
ON CONFLICT (run_id, table_name, item_key) DO NOTHING
