-- Downstream of raw.*, in dependency order; readers keep the old rows until each refresh ends.
REFRESH MATERIALIZED VIEW CONCURRENTLY curated.demands_archived;
REFRESH MATERIALIZED VIEW CONCURRENTLY curated.demands_uploaded;
REFRESH MATERIALIZED VIEW CONCURRENTLY analytics.demands_summary;
