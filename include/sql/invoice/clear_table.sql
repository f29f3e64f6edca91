-- Inside the load's one transaction: readers keep seeing the old rows until it commits
-- (DELETE, not TRUNCATE, whose exclusive lock would block them for the whole load).
DELETE FROM raw.{{ table|ident }}
