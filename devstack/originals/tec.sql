-- TECTest's database as its own DDL and loader left it (Bar0cc0/TECTest @ 29f1c46), written
-- from shared/reference/source-systems.md §4 and original-contracts.md §3.3, for the bundle
-- to adopt. The original's schema file began with DROP TABLE IF EXISTS … CASCADE; that is
-- left out on purpose (running it on a live database loses every row).
CREATE SCHEMA IF NOT EXISTS staging;

CREATE TABLE staging.operational_capacity (
    id SERIAL PRIMARY KEY,
    loc TEXT,
    loc_zn TEXT,
    loc_name TEXT,
    loc_purp_desc TEXT,
    loc_qti TEXT,
    flow_ind TEXT,
    dc NUMERIC,
    opc NUMERIC,
    tsq NUMERIC,
    oac NUMERIC,
    it TEXT,
    auth_overrun_ind TEXT,
    nom_cap_exceed_ind TEXT,
    all_qty_avail TEXT,
    qty_reason TEXT,
    measure_date DATE,
    cycle_id TEXT,
    download_timestamp DOUBLE PRECISION,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_op_capacity CHECK (dc >= 0 AND opc >= 0 AND tsq >= 0 AND oac >= 0),
    CONSTRAINT operational_capacity_unique_key UNIQUE (loc, loc_name, measure_date, cycle_id)
);
-- The reference names the indexed columns, not the index names: these names are ours.
CREATE INDEX idx_operational_capacity_download_timestamp ON staging.operational_capacity (download_timestamp);
CREATE INDEX idx_operational_capacity_cycle_id ON staging.operational_capacity (cycle_id);
CREATE INDEX idx_operational_capacity_loc ON staging.operational_capacity (loc);
CREATE INDEX idx_operational_capacity_measure_date ON staging.operational_capacity (measure_date);

-- The original granted nothing (everything ran as postgres). tec_reader stands for a
-- downstream reader (a dashboard, an analyst) given SELECT on the table, so adoption can
-- be checked to keep a reader's access. Roles are per server: created once.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tec_reader') THEN
        CREATE ROLE tec_reader NOLOGIN;
    END IF;
END
$roles$;
GRANT USAGE ON SCHEMA staging TO tec_reader;
GRANT SELECT ON staging.operational_capacity TO tec_reader;

-- Rows as the original wrote them:
-- * measure_date is the local date of the download, not the gas day (its metadata date
--   YYYYMMDD matched none of the parsed formats): the gas days 06-07..06-10 downloaded on
--   06-10 all landed on 2025-06-10, each overwriting the previous one's key;
-- * values pandas rendered: quantities as floats (125084.0); an all-numeric text column loses
--   leading zeros (loc 01234 → 1234) and, when the file had a blank in it, reads as float
--   text (500000.0); a blank loc_name is NULL, which the UNIQUE key lets through;
-- * qty_reason containing "unavailable" rewritten to Unavailable;
-- * ids with gaps (every ON CONFLICT DO UPDATE takes a sequence value);
-- * created_at in the server's UTC, measure_date the Central date of the download.
INSERT INTO staging.operational_capacity (
    id, loc, loc_zn, loc_name, loc_purp_desc, loc_qti, flow_ind, dc, opc, tsq, oac, it,
    auth_overrun_ind, nom_cap_exceed_ind, all_qty_avail, qty_reason, measure_date, cycle_id,
    download_timestamp, created_at
) VALUES
    (1, '500000', 'Thoreau', 'TW SOCAL #0000', 'Segment', 'RQ', 'R', 125084.0, 110002.0, 9870.0, 100132.0, 'N',
     'N', 'Y', 'Y', NULL, '2025-06-10', 'Intraday_1', 1749564311.482913, '2025-06-10 14:05:12.004211'),
    (2, '500001', 'Thoreau', 'TW EPNG #0001', 'Delivery Location', 'MQ', 'R', 575577.0, 550120.0, 431002.0,
     119118.0, 'Y', 'N', 'N', 'N', NULL, '2025-06-10', 'Intraday_1', 1749564311.482913, '2025-06-10 14:05:12.004211'),
    (3, '500002', 'Thoreau', 'TW EPNG #0002', 'Segment', 'RQ', 'D', 14745.0, 14000.0, 12001.0, 1999.0, 'Y', 'Y',
     'N', 'Y', 'Unavailable', '2025-06-10', 'Intraday_1', 1749564311.482913, '2025-06-10 14:05:12.004211'),
    (4, '500042', 'Permian', 'TW Oneok #0042', 'Pool', 'IQ', 'D', 80000.0, 80000.0, 0.0, 80000.0, 'N', 'N', 'N',
     'Y', NULL, '2025-06-10', 'Intraday_1', 1749564311.482913, '2025-06-10 14:05:12.004211'),
    (5, '500077', 'San Juan', NULL, 'Receipt Location', 'RQ', 'R', 1200.0, 1200.0, 300.0, 900.0, 'N', 'N', 'N',
     'Y', NULL, '2025-06-10', 'Intraday_1', 1749564311.482913, '2025-06-10 14:05:12.004211'),
    (9, '500000', 'Thoreau', 'TW SOCAL #0000', 'Segment', 'RQ', 'R', 125084.0, 121682.0, 29344.0, 92338.0, 'Y',
     'N', 'Y', 'Y', NULL, '2025-06-10', 'Evening', 1749601802.117406, '2025-06-11 00:30:02.230551'),
    (10, '500001', 'Thoreau', 'TW EPNG #0001', 'Delivery Location', 'MQ', 'R', 575577.0, 537644.0, 295183.0,
     242461.0, 'Y', 'N', 'N', 'N', NULL, '2025-06-10', 'Evening', 1749601802.117406, '2025-06-11 00:30:02.230551'),
    (11, '1234', 'West of Thoreau', 'TW PG&E #1234', 'Delivery Location', 'MQ', 'D', 42000.0, 41000.0, 40999.0,
     1.0, 'N', 'N', 'Y', 'N', 'Nominations exceed capacity', '2025-06-10', 'Evening', 1749601802.117406,
     '2025-06-11 00:30:02.230551'),
    (14, '500000', 'Thoreau', 'TW SOCAL #0000', 'Segment', 'RQ', 'R', 125084.0, 112629.0, 11928.0, 100701.0,
     'N', 'N', 'Y', 'Y', NULL, '2025-06-10', 'Intraday_2', 1749579605.901127, '2025-06-10 18:20:06.015327'),
    (20, '500000.0', 'Thoreau', 'TW SOCAL #0000', 'Segment', 'RQ', 'R', 125084.0, 118000.0, 20000.0, 98000.0,
     'Y', 'N', 'Y', 'Y', NULL, '2025-06-09', 'Intraday_3', 1749513004.66021, '2025-06-09 23:50:04.771904'),
    (21, '500001.0', 'Thoreau', 'TW EPNG #0001', 'Delivery Location', 'MQ', 'R', 575577.0, 560000.0, 400000.0,
     160000.0, 'Y', 'N', 'N', 'N', NULL, '2025-06-09', 'Intraday_3', 1749513004.66021, '2025-06-09 23:50:04.771904'),
    (22, NULL, 'Panhandle', 'TW NNG #0900', 'Pool', 'IQ', 'D', 0.0, 0.0, 0.0, 0.0, 'N', 'N', 'N', 'N',
     'Unavailable', '2025-06-09', 'Intraday_3', 1749513004.66021, '2025-06-09 23:50:04.771904');
SELECT setval('staging.operational_capacity_id_seq', 24);
