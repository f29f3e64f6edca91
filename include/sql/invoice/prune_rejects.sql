-- The quarantine's retention: its rows hold raw items (personal data). An item still bad
-- is quarantined again by each run, and its newer rows carry its first_seen_at on.
DELETE FROM raw.load_rejects WHERE rejected_at < now() - make_interval(days => %(days)s)
