-- The retention of the quarantine, whose source rows hold reviewers' names and emails:
-- a row goes once no run has seen it for the given number of days (the source row was
-- fixed or removed); a row still bad at the source stays, and says since when.
DELETE FROM staging.ecapris_status_rejects
WHERE last_seen_at < now() - make_interval(days => %(retention_days)s)
