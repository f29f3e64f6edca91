-- Quality gate of one loaded day and cycle, run after slice_lock.sql in the same transaction.
-- Every column must be true (SQLCheckOperator): no null or duplicate key, the bundle's rows
-- == what the slice's latest load left (its valid rows plus the rows kept for rejected keys;
-- the load's own count when the slice has no load record) == current history versions.
SELECT
    checks.null_keys = 0 AS no_null_keys,
    checks.duplicate_keys = 0 AS no_duplicate_keys,
    checks.loaded_rows = coalesce(
        (
            SELECT loads.rows_expected FROM {{ schema|ident }}.{{ (table ~ "_loads")|ident }} AS loads
            WHERE loads.measure_date = %(measure_date)s AND loads.cycle_id = %(cycle_id)s
        ),
        %(own_rows)s
    ) AS rows_as_loaded,
    checks.current_versions = checks.loaded_rows AS one_current_version_per_row
FROM (
{% include "tec/quality_checks.sql" %}
) AS checks
