-- Tables of one Energy Transfer endpoint: the current capacity, its SCD2 history, and rejected rows.
-- Idempotent (no DROP, unlike the original's schema file).
CREATE SCHEMA IF NOT EXISTS {{ schema|ident }};

CREATE TABLE IF NOT EXISTS {{ schema|ident }}.{{ table|ident }} (
    id BIGSERIAL PRIMARY KEY,
    loc TEXT NOT NULL,
    loc_zn TEXT,
    loc_name TEXT NOT NULL,
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
    measure_date DATE NOT NULL,
    cycle_id TEXT NOT NULL,
    download_timestamp DOUBLE PRECISION,
    source_system TEXT NOT NULL,
    row_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT {{ ("chk_" ~ table)|ident }} CHECK (dc >= 0 AND opc >= 0 AND tsq >= 0 AND oac >= 0),
    CONSTRAINT {{ (table ~ "_unique_key")|ident }} UNIQUE (loc, loc_name, measure_date, cycle_id)
);
CREATE INDEX IF NOT EXISTS {{ (table ~ "_day_cycle_idx")|ident }}
    ON {{ schema|ident }}.{{ table|ident }} (measure_date, cycle_id);

CREATE TABLE IF NOT EXISTS {{ schema|ident }}.{{ (table ~ "_history")|ident }} (
    version_id BIGSERIAL PRIMARY KEY,
    loc TEXT NOT NULL,
    loc_zn TEXT,
    loc_name TEXT NOT NULL,
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
    measure_date DATE NOT NULL,
    cycle_id TEXT NOT NULL,
    download_timestamp DOUBLE PRECISION,
    source_system TEXT NOT NULL,
    row_hash TEXT NOT NULL,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to TIMESTAMPTZ,
    is_current BOOLEAN NOT NULL,
    run_id TEXT,
    CHECK (is_current = (valid_to IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS {{ (table ~ "_history_current_key")|ident }}
    ON {{ schema|ident }}.{{ (table ~ "_history")|ident }} (loc, loc_name, measure_date, cycle_id)
    WHERE is_current;
CREATE INDEX IF NOT EXISTS {{ (table ~ "_history_day_cycle_idx")|ident }}
    ON {{ schema|ident }}.{{ (table ~ "_history")|ident }} (measure_date, cycle_id);

CREATE TABLE IF NOT EXISTS {{ schema|ident }}.{{ (table ~ "_rejects")|ident }} (
    id BIGSERIAL PRIMARY KEY,
    source_file TEXT NOT NULL,
    line_number INTEGER NOT NULL,
    field TEXT,
    reason TEXT NOT NULL,
    raw_record JSONB NOT NULL,
    measure_date DATE NOT NULL,
    cycle_id TEXT NOT NULL,
    run_id TEXT,
    rejected_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS {{ (table ~ "_rejects_day_cycle_idx")|ident }}
    ON {{ schema|ident }}.{{ (table ~ "_rejects")|ident }} (measure_date, cycle_id);
