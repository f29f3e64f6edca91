INSERT INTO raw.load_rejects (run_id, table_name, item_key, field, reason, raw_item)
VALUES (%(run_id)s, %(table_name)s, %(item_key)s, %(field)s, %(reason)s, %(raw_item)s)
