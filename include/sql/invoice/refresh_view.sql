-- Concurrently (the view's unique index): readers keep the old rows until the transaction commits.
REFRESH MATERIALIZED VIEW CONCURRENTLY {{ schema|ident }}.{{ view|ident }}
