-- The part of Moped's database that the eCapris statuses sync touches, as Moped's
-- migrations define it (1746640451691_ecapris_status_updates, 1779396806011, 1678309132542).
-- Applied by the Hasura stand-in when it starts; idempotent.

CREATE TABLE IF NOT EXISTS moped_users (
    user_id SERIAL PRIMARY KEY,
    first_name TEXT,
    last_name TEXT,
    email TEXT
);

CREATE TABLE IF NOT EXISTS moped_project (
    project_id SERIAL PRIMARY KEY,
    project_name TEXT NOT NULL,
    -- TEXT since 1678309132542, not unique (hence distinct_on in the ETL's query).
    ecapris_subproject_id TEXT,
    is_deleted BOOLEAN NOT NULL DEFAULT FALSE,
    -- Default changed to false by #23041: sync is opt-in.
    should_sync_ecapris_statuses BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE IF NOT EXISTS ecapris_subproject_statuses (
    id SERIAL PRIMARY KEY,
    ecapris_subproject_id TEXT NOT NULL,
    subproject_name TEXT NOT NULL,
    subproject_status_id INTEGER NOT NULL UNIQUE,
    current_status_fl BOOLEAN NOT NULL,
    sub_project_status_desc TEXT,
    review_timestamp TIMESTAMPTZ NOT NULL,
    subproject_status_impacts TEXT,
    summary_description TEXT,
    reviewed_by_name TEXT NOT NULL,
    reviewed_by_email TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by_user_id INT REFERENCES moped_users (user_id) ON DELETE RESTRICT ON UPDATE CASCADE,
    updated_by_user_id INT REFERENCES moped_users (user_id) ON DELETE RESTRICT ON UPDATE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_ecapris_subproject_statuses_subproject_id
    ON ecapris_subproject_statuses (ecapris_subproject_id);

CREATE OR REPLACE FUNCTION public.find_ecapris_user_match_by_email() RETURNS trigger AS $$
BEGIN
    NEW.created_by_user_id := (
        SELECT user_id FROM moped_users WHERE LOWER(email) = LOWER(NEW.reviewed_by_email) LIMIT 1
    );
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER set_ecapris_subproject_statuses_updated_at
    BEFORE UPDATE ON ecapris_subproject_statuses
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE OR REPLACE TRIGGER find_ecapris_user_match_by_email
    BEFORE INSERT ON ecapris_subproject_statuses
    FOR EACH ROW EXECUTE FUNCTION public.find_ecapris_user_match_by_email();
