-- A send records its exchanges as pending before it uploads anything, and marks them sent
-- once the upload and the share copies are in place: a retry or a rerun after a kill finds
-- what the earlier attempt did (the remote file, the share copy it named) instead of doing
-- it again. Rows written before this migration were complete sends.
ALTER TABLE dfps.dps_exchanges
    ADD COLUMN state TEXT NOT NULL DEFAULT 'sent' CHECK (state IN ('pending', 'sent')),
    ADD COLUMN share_path TEXT;
-- At most one pending exchange per file of a period.
CREATE UNIQUE INDEX dps_exchanges_one_pending ON dfps.dps_exchanges (period, direction, file_name)
    WHERE state = 'pending';
