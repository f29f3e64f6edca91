-- The keys of this file's rejected rows (a part NULL when the row lacked it): their current
-- rows and versions are kept until a valid row replaces them. Dropped at commit.
CREATE TEMPORARY TABLE capacity_rejected_keys (loc TEXT, loc_name TEXT) ON COMMIT DROP
