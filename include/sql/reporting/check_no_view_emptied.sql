-- The run's data-quality gate: no view this run refreshed is empty where its previous
-- successful refresh (an earlier run) had rows: a report gone blank overnight is almost always
-- a broken source. A view empty from the start, or again, passes: an agency may have nothing to
-- report. The second column names the views, for the check's log (always a non-empty string).
WITH attempts AS (
    SELECT table_name, status, records_processed, start_time, id, run_id
    FROM reporting.seeder_run_history
    UNION ALL
    SELECT table_name, status, records_processed, start_time, id, run_id
    FROM reporting.seeder_canned_run_history
),
emptied AS (
    SELECT this_run.table_name
    FROM attempts AS this_run
    WHERE this_run.run_id = %(run_id)s
      AND this_run.status = 'success'
      AND this_run.records_processed = 0
      AND (
          SELECT earlier.records_processed
          FROM attempts AS earlier
          WHERE earlier.table_name = this_run.table_name
            AND earlier.status = 'success'
            AND earlier.run_id <> %(run_id)s
          ORDER BY earlier.start_time DESC, earlier.id DESC
          LIMIT 1
      ) > 0
)
SELECT
    %(allow_emptied_views)s OR NOT EXISTS (SELECT FROM emptied) AS no_view_emptied,
    'emptied since their last refresh: '
    || coalesce((SELECT string_agg(DISTINCT table_name, ', ') FROM emptied), 'none') AS emptied_views
