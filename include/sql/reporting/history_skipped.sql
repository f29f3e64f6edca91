-- A view the open circuit breaker kept from running: recorded, with the reason.
INSERT INTO reporting.{{ history_table | ident }}
    (run_id, manifest_id, table_name, report_name, agency_id, agency_slug, report_type, status, action,
     start_time, finish_time, duration_seconds, records_processed, bytes_processed, consecutive_failures, errors,
     created_at, updated_at)
VALUES
    (%(run_id)s, %(manifest_id)s, %(table_name)s, %(report_name)s, %(agency_id)s, %(agency_slug)s, %(report_type)s,
     'skipped', 'skipped', clock_timestamp(), clock_timestamp(), 0, 0, 0,
     COALESCE((SELECT consecutive_failures FROM reporting.{{ status_table | ident }}
               WHERE table_name = %(table_name)s), 0),
     %(errors)s, clock_timestamp(), clock_timestamp())
