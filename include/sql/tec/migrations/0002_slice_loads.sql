-- The newest file loaded into each day and cycle of one endpoint's table: a load of an
-- older download is skipped (two runs may load the same slice; the older must not win),
-- and the quality gate compares the table with what the slice's latest load left.
-- Upserted by every load, also one that changed nothing (history opens no version then).
CREATE TABLE {{ schema|ident }}.{{ (table ~ "_loads")|ident }} (
    measure_date DATE NOT NULL,
    cycle_id TEXT NOT NULL,
    observed_at TIMESTAMPTZ NOT NULL,
    source_file TEXT NOT NULL,
    rows_expected INTEGER NOT NULL,
    run_id TEXT,
    loaded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (measure_date, cycle_id)
);
