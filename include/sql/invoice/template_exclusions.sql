-- Documents (latest case version with metadata) the template rule leaves out of both views, by reason.
SELECT excluded_by, count(*) FROM etl_invoice.latest_demands WHERE excluded_by IS NOT NULL GROUP BY excluded_by
