-- A view's attempt begins: its history row, with the view's consecutive failures so far.
-- Every column the Django model marks NOT NULL is filled (the Django tables have no defaults).
INSERT INTO reporting.{{ history_table | ident }}
    (run_id, manifest_id, table_name, report_name, agency_id, agency_slug, report_type, status, start_time,
     records_processed, bytes_processed, consecutive_failures, created_at, updated_at)
VALUES
    (%(run_id)s, %(manifest_id)s, %(table_name)s, %(report_name)s, %(agency_id)s, %(agency_slug)s, %(report_type)s,
     'running', clock_timestamp(), 0, 0,
     COALESCE((SELECT consecutive_failures FROM reporting.{{ status_table | ident }}
               WHERE table_name = %(table_name)s), 0),
     clock_timestamp(), clock_timestamp())
RETURNING id, start_time, consecutive_failures
