-- Returns a row only for the first failure of this view in this run.
INSERT INTO reporting.seeder_breaker_failures (run_id, table_name) VALUES (%(run_id)s, %(table_name)s)
ON CONFLICT DO NOTHING
RETURNING table_name
