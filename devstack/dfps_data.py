"""Children in DFPS care in the Oracle stand-in: ``caps.qtr_dps_cvs`` for FY2024-FY2027.

Accented, hyphenated and multi-part names, apostrophes, particles, Feb 29 birthdays,
open exits, a person with two exits from one care entry, and rows without a birth or
entry date (dropped by the DAG, counted). Every name is made up.

Beside it, what ``dfps_dps_receive`` looks up: IMPACT's runaway list
(``caps.sa_98_runaways`` behind the function ``qtr_dps_cvs_pkg.get_sa_98(start, end)``,
standing in for the package function ``caps.qtr_dps_cvs_pkg.get_sa_98``), county to
DFPS region (``caps.cnty_reg_tableau``) and the warehouse's monthly snapshot of each
child's legal county (``caps.sa_sum``, ``caps.ccount``, ``caps.time_dim`` by calendar year and
month); and where DPS's results are loaded back (``caps.dfps_msng_person_stg``, the procedure
``caps.load_dfps_msng_person(fiscal_year, quarter)`` and its table ``caps.dfps_msng_person``).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from devstack import paths

DDL = """
CREATE SCHEMA IF NOT EXISTS caps;
DROP TABLE IF EXISTS caps.qtr_dps_cvs;
CREATE TABLE caps.qtr_dps_cvs (
    id_pp_person INTEGER NOT NULL,
    nm_person_first VARCHAR(60),
    nm_person_middle VARCHAR(60),
    nm_person_last VARCHAR(60),
    dt_child_birth DATE,
    dt_enter_care DATE,
    dt_exit_care DATE,
    gender VARCHAR(10),
    rpt_fiscal_yr INTEGER NOT NULL,
    rpt_qtr INTEGER NOT NULL
);
CREATE INDEX qtr_dps_cvs_period ON caps.qtr_dps_cvs (rpt_fiscal_yr, rpt_qtr);
"""
FIRST = ["José", "Zoë", "María-José", "Renée", "D'Andre", "Mary Ann", "Li", "Jo", "Nan", "Anaïs", "Kevin", "Destiny"]
MIDDLE = ["Lee", None, "Ángel", "Marie", None]
LAST = ["García-López", "De La Cruz", "St. John", "McDonald", "O'Neil", "Nguyễn", "Smith Jr.", "Van der Berg", "Peña"]
GENDERS = ["Male", "Female", "Unknown", None]
FISCAL_YEARS = (2024, 2025, 2026, 2027)

# get_sa_98's columns in the function's order. The reference knows CHILD_PID, DT_RECOVERED,
# LEGAL_STATUS and the eleven recovery columns after DT_RECOVERED (the original's prototype dropped
# 0-based positions 17-27, so the function returns at least 29 columns); the others are plausible
# stand-ins for a list that was not found. The DAG reads them from the cursor, never from here.
SA98_NAMES = [
    "rpt_region", "cnty_legal", "unit", "id_stage", "id_case", "child_pid", "child_name", "dt_birth",
    "age_at_run", "gender", "legal_status", "living_arr", "placement_type", "dt_run", "dt_reported_le",
    "ncic_entered", "dt_recovered", "returned_by", "recovery_intervw_conducted", "rsn_not_interviewed",
    "recovery_intervw_dt", "confirmed_rsn_absence", "sex_trf", "labor_trf", "phab", "sxab", "other",
    "txt_run_rsn", "days_missing", "nbr_runs_fy", "caseworker_pid",
]  # fmt: skip
# DPS's results file as IMPACT's loader takes it (the control file was not found: DPS's columns,
# tagged with the period) in caps.dfps_msng_person_stg, and the warehouse table
# caps.dfps_msng_person that caps.load_dfps_msng_person fills from it.
LOOKUP_DDL = """
DROP FUNCTION IF EXISTS qtr_dps_cvs_pkg.get_sa_98(date, date);
DROP PROCEDURE IF EXISTS caps.load_dfps_msng_person(integer, integer);
DROP TABLE IF EXISTS caps.sa_98_runaways;
DROP TABLE IF EXISTS caps.cnty_reg_tableau;
DROP TABLE IF EXISTS caps.sa_sum;
DROP TABLE IF EXISTS caps.ccount;
DROP TABLE IF EXISTS caps.time_dim;
DROP TABLE IF EXISTS caps.dfps_msng_person_stg;
DROP TABLE IF EXISTS caps.dfps_msng_person;
DROP TABLE IF EXISTS caps.dfps_msng_person_loads;
CREATE TABLE caps.sa_98_runaways (
    rpt_region varchar(3),
    cnty_legal varchar(40),
    unit varchar(10),
    id_stage integer,
    id_case integer,
    child_pid integer NOT NULL,
    child_name varchar(90),
    dt_birth date,
    age_at_run integer,
    gender varchar(10),
    legal_status varchar(40),
    living_arr varchar(40),
    placement_type varchar(40),
    dt_run date NOT NULL,
    dt_reported_le date,
    ncic_entered char(1),
    dt_recovered date,
    returned_by varchar(40),
    recovery_intervw_conducted char(1),
    rsn_not_interviewed varchar(80),
    recovery_intervw_dt date,
    confirmed_rsn_absence varchar(80),
    sex_trf char(1),
    labor_trf char(1),
    phab char(1),
    sxab char(1),
    other char(1),
    txt_run_rsn varchar(200),
    days_missing integer,
    nbr_runs_fy integer,
    caseworker_pid integer
);
CREATE TABLE caps.cnty_reg_tableau (cnty_name VARCHAR(40) NOT NULL, sub_reg VARCHAR(3) NOT NULL);
CREATE TABLE caps.ccount (code VARCHAR(3) NOT NULL, decode VARCHAR(40) NOT NULL);
CREATE TABLE caps.time_dim (
    id_time_load INTEGER NOT NULL,
    nbr_time_calendar_year INTEGER NOT NULL,
    nbr_time_calendar_month INTEGER NOT NULL
);
CREATE TABLE caps.sa_sum (
    id_sa_person INTEGER NOT NULL,
    cd_legal_cnty VARCHAR(3),
    nm_person_name VARCHAR(90),
    id_time_load INTEGER NOT NULL
);
CREATE INDEX sa_sum_time_load ON caps.sa_sum (id_time_load);
CREATE SCHEMA IF NOT EXISTS qtr_dps_cvs_pkg;
CREATE FUNCTION qtr_dps_cvs_pkg.get_sa_98(start_date date, end_date date)
RETURNS SETOF caps.sa_98_runaways
LANGUAGE sql STABLE AS $$
    SELECT * FROM caps.sa_98_runaways r
    WHERE r.dt_run <= $2 AND (r.dt_recovered IS NULL OR r.dt_recovered >= $1)
    ORDER BY r.child_pid, r.dt_run
$$;
CREATE TABLE caps.dfps_msng_person_stg (
    cps_name varchar(60), full_name varchar(90), cps_dob date, s varchar(2), r varchar(2), e varchar(2),
    doe varchar(20), last_cont date, hr varchar(10), ori varchar(20), ori_desc varchar(60),
    county_name varchar(40), ori_phone varchar(20), nic varchar(20), sts varchar(10), locate_dt date,
    clr_can_dt date, rpt_fiscal_yr integer NOT NULL, rpt_qtr integer
);
CREATE TABLE caps.dfps_msng_person (LIKE caps.dfps_msng_person_stg);
ALTER TABLE caps.dfps_msng_person ADD COLUMN loaded_at timestamptz NOT NULL DEFAULT now();
-- The stand-in's own record of each call, so tests can count them.
CREATE TABLE caps.dfps_msng_person_loads (
    rpt_fiscal_yr integer NOT NULL,
    rpt_qtr integer,
    row_count integer NOT NULL,
    called_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE PROCEDURE caps.load_dfps_msng_person(p_rpt_fiscal_yr integer, p_rpt_qtr integer)
LANGUAGE plpgsql AS $$
DECLARE
    loaded integer;
BEGIN
    DELETE FROM caps.dfps_msng_person
    WHERE rpt_fiscal_yr = p_rpt_fiscal_yr AND rpt_qtr IS NOT DISTINCT FROM p_rpt_qtr;
    INSERT INTO caps.dfps_msng_person
    SELECT s.*, now() FROM caps.dfps_msng_person_stg s
    WHERE s.rpt_fiscal_yr = p_rpt_fiscal_yr AND s.rpt_qtr IS NOT DISTINCT FROM p_rpt_qtr;
    GET DIAGNOSTICS loaded = ROW_COUNT;
    INSERT INTO caps.dfps_msng_person_loads (rpt_fiscal_yr, rpt_qtr, row_count)
    VALUES (p_rpt_fiscal_yr, p_rpt_qtr, loaded);
END
$$;
"""
# (IMPACT county code, county name, DFPS region): the ccount rows; all but Loving are in cnty_reg_tableau.
COUNTIES = [
    ("001", "Anderson", "04"),
    ("015", "Bexar", "08"),
    ("031", "Cameron", "11"),
    ("043", "Collin", "03"),
    ("057", "Dallas", "03"),
    ("061", "Denton", "03"),
    ("071", "El Paso", "10"),
    ("079", "Fort Bend", "06"),
    ("101", "Harris", "06"),
    ("108", "Hidalgo", "11"),
    ("123", "Jefferson", "05"),
    ("151", "Loving", "09"),
    ("152", "Lubbock", "01"),
    ("161", "McLennan", "07"),
    ("165", "Midland", "09"),
    ("178", "Nueces", "11"),
    ("212", "Smith", "04"),
    ("220", "Tarrant", "03"),
    ("221", "Taylor", "02"),
    ("227", "Travis", "07"),
    ("246", "Williamson", "07"),
]
NOT_IN_REGIONS = {"Loving"}
OUT_OF_STATE = "255"  # a legal county code with no ccount row: LEGAL_COUNTY comes back NULL
COUNTY_WEIGHTS = {"101": 8, "057": 6, "015": 6, "227": 5, "220": 5, "071": 3, "108": 3}
LEGAL_STATUSES = [
    "TMC",
    "PMC/ Rts Not Term",
    "PMC/ Rts Term (All)",
    "PMC/ Rts Term (Mother)",
    "PMC/Rts Term (Father)",
    None,
    "JMC",  # not one of the statuses the report counts
    "TMC/PMC Other",
]
LEGAL_STATUS_WEIGHTS = [30, 15, 20, 6, 5, 8, 8, 8]
RETURNED_BY = ["Law enforcement", "Caseworker", "Self", "Family member", "Placement staff"]
RUN_REASONS = ["Left placement without permission", "Did not return from school", "Left with a friend", None]
TIME_DIM_FIRST = date(2023, 9, 1)
TIME_DIM_MONTHS = 48  # 2023-09-01 .. 2027-08-01

# DPS's answer: the results file (colon-separated) and its counts, in the SFTP folder to_dfps.
ANSWER_FOLDER = "to_dfps"
RESULTS_HEADER = (
    "CPS NAME:FULL NAME:CPS DOB:S:R:E:DOE:LAST CONT:HR:ORI:ORI DESC:COUNTY NAME:ORI PHONE:NIC #:STS"
    ":LOCATE DTE:CLR/CAN DTE"
)
RESULT_STATUSES = ("LOC", "ACTV", "CLRD", "CANC")
ANSWER_SHARE = 0.3  # of the reference's people DPS has a record for
# (ORI, ORI DESC, COUNTY NAME, ORI PHONE): the reporting agencies; the phone numbers are fictional 555-01xx.
AGENCIES = [
    ("TX2270100", "AUSTIN PD", "TRAVIS", "512-555-0100"),
    ("TX1012000", "HOUSTON PD", "HARRIS", "713-555-0101"),
    ("TX0150300", "SAN ANTONIO PD", "BEXAR", "210-555-0102"),
    ("TX0570700", "DALLAS PD", "DALLAS", "214-555-0103"),
    ("TX0710200", "EL PASO PD", "EL PASO", "915-555-0104"),
    ("TX1080000", "HIDALGO CO SO", "HIDALGO", "956-555-0105"),
    ("TX2200100", "FORT WORTH PD", "TARRANT", "817-555-0106"),
]
UNMATCHED_FIRST = ("ROSALIND", "BARTHOLOMEW", "PERPETUA")  # not in FIRST: these rows match no reference name


def quarter_start(fiscal_year: int, quarter: int) -> date:
    month = (9, 12, 3, 6)[quarter - 1]
    return date(fiscal_year - 1 if month >= 9 else fiscal_year, month, 1)


def rows(per_quarter: int, rng: random.Random) -> list[tuple]:
    out = []
    person = 700_000
    for fiscal_year in FISCAL_YEARS:
        for quarter in (1, 2, 3, 4):
            start = quarter_start(fiscal_year, quarter)
            for n in range(per_quarter):
                person += 1
                if n % 17 == 0:
                    birth = date(2008 + 4 * (n % 3), 2, 29)  # leap-day birthdays
                else:
                    birth = date(2006, 1, 1) + timedelta(days=rng.randrange(5000))
                entered = start - timedelta(days=rng.randrange(400))
                exited = None if n % 3 == 0 else start + timedelta(days=rng.randrange(90))
                row = [
                    person,
                    FIRST[n % len(FIRST)],
                    MIDDLE[n % len(MIDDLE)],
                    LAST[(n // 2) % len(LAST)],
                    birth,
                    entered,
                    exited,
                    GENDERS[n % len(GENDERS)],
                    fiscal_year,
                    quarter,
                ]
                if n % 29 == 5:
                    row[4] = None  # no birth date: dropped
                if n % 31 == 7:
                    row[5] = None  # no entry date: dropped
                out.append(tuple(row))
                if n % 13 == 0 and row[5] is not None:  # a second, later exit from the same entry
                    later = list(row)
                    later[6] = (exited or start) + timedelta(days=30)
                    out.append(tuple(later))
    return out


def per_quarter(size: int) -> int:
    return max(20, size // 16)


def generated(size: int) -> list[tuple]:
    """The caps.qtr_dps_cvs rows ``seed`` loads for ``size``."""
    return rows(per_quarter(size), random.Random(6))


def display_name(row: tuple) -> str:
    """IMPACT's ``Last, First Middle`` for a caps.qtr_dps_cvs row."""
    first = " ".join(part for part in (row[1], row[2]) if part)
    return f"{row[3]}, {first}"


def time_dim_rows() -> list[tuple[int, int, int]]:
    """One load per month, 2023-09 to 2027-08: (id_time_load, calendar year, calendar month), ids increasing."""
    out = []
    for n in range(TIME_DIM_MONTHS):
        month = TIME_DIM_FIRST.month - 1 + n
        out.append((301 + n, TIME_DIM_FIRST.year + month // 12, month % 12 + 1))
    return out


def legal_counties(person_ids: list[int], rng: random.Random) -> dict[int, str]:
    """Each person's legal county code: mostly the big counties, a few Loving (no region) or out of state."""
    codes = [code for code, _, _ in COUNTIES]
    weights = [COUNTY_WEIGHTS.get(code, 1) for code in codes]
    out = {}
    for person in person_ids:
        roll = rng.random()
        out[person] = OUT_OF_STATE if roll < 0.02 else "151" if roll < 0.04 else rng.choices(codes, weights)[0]
    return out


PLACEMENTS = ["Foster family home", "General residential operation", "Kinship", "Emergency shelter"]
LIVING = ["Foster care", "Relative", "Residential treatment", "Other"]
NOT_INTERVIEWED = ["Youth refused", "Youth not available", None]
ABSENCE_REASONS = ["Conflict in placement", "To see family", "With a partner", "Unknown"]


def runaway_rows(data: list[tuple], counties: dict[int, str], rng: random.Random) -> list[tuple]:
    """caps.sa_98_runaways (columns of ``SA98_NAMES``): about one child in eight of each quarter ran away,
    mostly during it. Most came back within weeks, some after months, one in ten is still gone (open);
    some ran before the quarter, some twice."""
    names = {code: name for code, name, _ in COUNTIES}
    regions = {code: region for code, _, region in COUNTIES}
    first_rows: dict[int, tuple] = {}
    for row in data:
        if row[5] is not None:
            first_rows.setdefault(row[0], row)
    out = []
    for person, row in first_rows.items():
        if rng.random() >= 0.125:
            continue
        start = quarter_start(row[8], row[9])
        status = rng.choices(LEGAL_STATUSES, LEGAL_STATUS_WEIGHTS)[0]
        code = counties[person]
        ran = max(start + timedelta(days=rng.randrange(-45, 85)), row[5])
        episodes = []
        for _ in range(2 if rng.random() < 0.15 else 1):
            roll = rng.random()  # most come back within weeks, some after months, one in ten is still gone
            recovered = ran + timedelta(days=rng.randrange(0, 40) if roll < 0.6 else rng.randrange(40, 300))
            episodes.append((ran, None if roll >= 0.9 else recovered))
            if roll >= 0.9:
                break
            ran = recovered + timedelta(days=rng.randrange(3, 30))
        for ran, recovered in episodes:
            interviewed = bool(recovered) and rng.random() < 0.7
            flags = [rng.choice("YNN") if recovered else None for _ in range(5)]  # SEX_TRF .. OTHER
            out.append(
                (
                    regions.get(code),
                    names.get(code, "Out of State"),
                    f"U{rng.randrange(100, 999)}",
                    person * 10 + 1,
                    person + 5_000_000,
                    person,
                    display_name(row),
                    row[4],
                    (ran - row[4]).days // 365 if row[4] else None,
                    row[7],
                    status,
                    rng.choice(LIVING),
                    rng.choice(PLACEMENTS),
                    ran,
                    ran + timedelta(days=rng.randrange(0, 3)),
                    rng.choice("YN"),
                    recovered,
                    rng.choice(RETURNED_BY) if recovered else None,
                    ("Y" if interviewed else "N") if recovered else None,
                    None if interviewed or not recovered else rng.choice(NOT_INTERVIEWED),
                    recovered + timedelta(days=rng.randrange(0, 5)) if interviewed else None,
                    rng.choice(ABSENCE_REASONS) if recovered else None,
                    *flags,
                    rng.choice(RUN_REASONS),
                    (recovered - ran).days if recovered else None,
                    len(episodes),
                    900_000 + rng.randrange(500),
                )
            )
    return out


def sa_sum_rows(data: list[tuple], counties: dict[int, str], rng: random.Random) -> list[tuple]:
    """caps.sa_sum: every child in every monthly load; a few move county, a few appear twice in a month."""
    names: dict[int, str] = {}
    for row in data:
        names.setdefault(row[0], display_name(row))
    codes = [code for code, _, _ in COUNTIES]
    loads = time_dim_rows()
    out = []
    for person, name in names.items():
        county = counties[person]
        moves_at = rng.randrange(len(loads)) if rng.random() < 0.05 else None
        for n, (load, *_) in enumerate(loads):
            if n == moves_at:
                county = rng.choice(codes)
            out.append((person, county, name, load))
            if person % 41 == 0:
                out.append((person, county, name, load))  # two stages in one month: DISTINCT removes it
    return out


def lookup_tables(data: list[tuple]) -> dict[str, list[tuple]]:
    """``COPY`` target (table and columns) -> rows, for the lookups beside ``data`` (caps.qtr_dps_cvs rows)."""
    counties = legal_counties(sorted({row[0] for row in data}), random.Random(98))
    return {
        "caps.sa_98_runaways (" + ", ".join(SA98_NAMES) + ")": runaway_rows(data, counties, random.Random(980)),
        "caps.cnty_reg_tableau (cnty_name, sub_reg)": [
            (name, region) for _, name, region in COUNTIES if name not in NOT_IN_REGIONS
        ],
        "caps.ccount (code, decode)": [(code, name) for code, name, _ in COUNTIES],
        "caps.time_dim (id_time_load, nbr_time_calendar_year, nbr_time_calendar_month)": time_dim_rows(),
        "caps.sa_sum (id_sa_person, cd_legal_cnty, nm_person_name, id_time_load)": sa_sum_rows(
            data, counties, random.Random(99)
        ),
    }


def seed_lookups(conn: Any, data: list[tuple]) -> dict[str, int]:
    """The tables and the function dfps_dps_receive reads, beside caps.qtr_dps_cvs (same connection)."""
    loads = lookup_tables(data)
    conn.execute(LOOKUP_DDL)
    counts = {}
    for target, values in loads.items():
        with conn.cursor().copy(f"COPY {target} FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
        counts[target.split(" ")[0]] = len(values)
    return counts


def seed(state: dict[str, Any], size: int) -> str:
    import psycopg

    from devstack.services import DATABASES, server_url

    data = generated(size)
    with psycopg.connect(server_url(state["services"]["postgres"], DATABASES["oracle_standin"])) as conn:
        conn.execute(DDL)
        with conn.cursor().copy(
            "COPY caps.qtr_dps_cvs (id_pp_person, nm_person_first, nm_person_middle, nm_person_last, dt_child_birth,"
            " dt_enter_care, dt_exit_care, gender, rpt_fiscal_yr, rpt_qtr) FROM STDIN"
        ) as copy:
            for row in data:
                copy.write_row(row)
        counts = seed_lookups(conn, data)
    return (
        f"DFPS: {len(data)} children-in-care rows in caps.qtr_dps_cvs, FY{FISCAL_YEARS[0]}-FY{FISCAL_YEARS[-1]};"
        f" lookups {', '.join(f'{table} {n}' for table, n in counts.items())} and qtr_dps_cvs_pkg.get_sa_98"
    )


# --- DPS's answer (the seed plays DPS) ---------------------------------------------------


def default_period(today: date | None = None) -> Any:
    """The period ``airflow dags test dfps_dps_send`` handles: the last quarter that ended before today (Chicago)."""
    from etl_bundle.common.fiscal import quarter_containing

    return quarter_containing(today or _chicago_today()).previous()


def _chicago_today() -> date:
    """Today where the DAGs' timetables live (the demo's runs take their period from it)."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("America/Chicago")).date()


def reference_rows(period: Any, size: int = 1000) -> list[dict[str, Any]]:
    """The reference rows dfps_dps_send writes for ``period`` from what ``seed(state, size)`` loads."""
    from etl_bundle.dfps.children import Child, prepare

    children = [
        Child(
            person_id=row[0],
            first=row[1],
            middle=row[2],
            last=row[3],
            birth=row[4],
            entered=row[5],
            exited=row[6],
            gender=row[7],
        )
        for row in generated(size)
        if row[8] == period.fiscal_year and (period.quarter is None or row[9] == period.quarter)
    ]
    return prepare(children).rows


def _mdy(day: date | None) -> str:
    return day.strftime("%m/%d/%Y") if day else ""


def _between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange(max(0, (last - first).days) + 1))


def _result_line(
    name: str, full_name: str, birth: date, sex: str, contact: date, status: str, rng: random.Random
) -> str:
    ori, ori_desc, county, phone = rng.choice(AGENCIES)
    located = contact + timedelta(days=rng.randrange(0, 25)) if status == "LOC" else None
    cleared = contact + timedelta(days=rng.randrange(0, 40)) if status in ("CLRD", "CANC") else None
    cells = [
        name,
        full_name,
        _mdy(birth),
        sex if sex in ("M", "F") else rng.choice("MF"),
        rng.choice("WWBBHI"),
        rng.choice("HNU"),
        _mdy(contact + timedelta(days=rng.randrange(0, 4))),
        _mdy(contact),
        f"{rng.randrange(24):02d}",
        ori,
        ori_desc,
        county,
        phone,
        f"M{rng.randrange(10**9):09d}",
        status,
        _mdy(located),
        _mdy(cleared),
    ]
    return ":".join(cells) + ":"


def results_lines(reference: Iterable[dict[str, Any]], period: Any, rng: random.Random) -> list[str]:
    """DPS's results file for ``period`` (header first): records for about 30% of the reference's people.

    Most contacts fall in the period and the care episode; every tenth person has LOC and
    CLRD on one contact date, one in ten two contact dates, one in ten an ACTV record
    that began before the period, one in ten a contact outside the window, one in ten a
    cancelled record. Three rows carry names that are not in the reference at all.
    """
    by_person: dict[Any, list[dict[str, Any]]] = {}
    for ref in reference:
        by_person.setdefault(ref["Person_ID"], []).append(ref)
    people = sorted(by_person, key=int)  # Person_ID is text in the workbook
    chosen = sorted(rng.sample(people, round(len(people) * ANSWER_SHARE)))
    start, end = period.start, period.next_start - timedelta(days=1)
    lines = []
    for n, person in enumerate(chosen):
        ref = rng.choice(by_person[person])
        middle = f" {ref['Middle_Name']}" if ref["Middle_Name"] else ""
        full_name = f"{ref['Last_Name']}, {ref['First_Name']}{middle}"
        first = max(start, ref["Entered_Care"])
        last = min(end, ref["Exited_Care"] or end)
        contact = _between(rng, first, last) if first <= last else start

        def line(day: date, status: str, ref=ref, full_name=full_name) -> str:
            return _result_line(ref["Name"], full_name, ref["Date_of_Birth"], ref["Sex"], day, status, rng)

        kind = n % 10
        if kind == 0:  # two statuses on one contact date
            lines += [line(contact, "LOC"), line(contact, "CLRD")]
        elif kind == 1:  # two contact dates
            lines += [line(start - timedelta(days=rng.randrange(20, 200)), "CLRD"), line(contact, "LOC")]
        elif kind == 2:  # still open, began before the period
            lines.append(line(start - timedelta(days=rng.randrange(1, 120)), "ACTV"))
        elif kind == 3:  # outside the window: after it, or cleared before it
            after = n // 10 % 2 == 0
            day = end + timedelta(days=rng.randrange(1, 60)) if after else start - timedelta(days=rng.randrange(1, 90))
            lines.append(line(day, rng.choice(("LOC", "CLRD")) if after else "CLRD"))
        elif kind == 4:  # cancelled
            lines.append(line(contact, "CANC"))
        else:
            lines.append(line(contact, rng.choices(RESULT_STATUSES, (40, 20, 25, 15))[0]))
    names = {ref["Name"] for refs in by_person.values() for ref in refs}
    lasts = sorted({ref["Last_Name"] for refs in by_person.values() for ref in refs}) or ["DOE"]
    for n, first_name in enumerate(UNMATCHED_FIRST):
        last_name = lasts[n * 7 % len(lasts)]
        name = f"{last_name},{first_name}"
        if name in names:
            continue
        birth = date(2009, 1, 1) + timedelta(days=rng.randrange(3000))
        lines.append(
            _result_line(name, f"{last_name}, {first_name}", birth, "F", _between(rng, start, end), "LOC", rng)
        )
    return [RESULTS_HEADER, *sorted(lines)]


def counts_text(results: list[str]) -> str:
    """DPS's counts file for a results file (its lines, header first): the total and one line per status."""
    column = RESULTS_HEADER.split(":").index("STS")
    statuses = Counter(line.split(":")[column] for line in results[1:])
    lines = [f"TOTAL RECORDS: {len(results) - 1}"]
    lines += [f"{status}: {statuses.get(status, 0)}" for status in RESULT_STATUSES]
    return "\n".join(lines) + "\n"


def answer_names(period_label: str) -> tuple[str, str]:
    return f"dfps-missing-person-results_{period_label}.txt", f"dfps-missing-person-counts_{period_label}.txt"


def _write_private(path: Path, text: str) -> None:
    """Owner-only, whole or not at all: written aside under a dot name, then renamed into place."""
    part = path.with_name(f".{path.name}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii", newline="\n") as out:
        out.write(text)
    os.chmod(part, 0o600)
    os.replace(part, path)


def answer_rng(period_label: str) -> random.Random:
    """The generator behind a period's answer: the same files every time."""
    return random.Random(f"dps-answer-{period_label}")


def place_dps_answer(period_label: str | None = None, size: int = 1000) -> list[Path]:
    """DPS's results and counts files for the period (default: the one the demo sends) in sftp ``to_dfps``."""
    from etl_bundle.common.fiscal import FiscalPeriod

    period = FiscalPeriod.parse(period_label) if period_label else default_period()
    results = results_lines(reference_rows(period, size), period, answer_rng(period.label))
    folder = paths.sftp_root() / ANSWER_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    results_name, counts_name = answer_names(period.label)
    _write_private(folder / results_name, "\n".join(results) + "\n")
    _write_private(folder / counts_name, counts_text(results))
    # DPS answered an hour ago: older than receive's minimum age, so the demo's run takes it at once.
    answered = time.time() - 3600
    for path in (folder / results_name, folder / counts_name):
        os.utime(path, (answered, answered))
    return [folder / results_name, folder / counts_name]


def default_year(today: date | None = None) -> Any:
    """The year ``airflow dags test dfps_dps_send_yearly`` handles: the fiscal year that ended before today."""
    from etl_bundle.common.fiscal import year_containing

    return year_containing(today or _chicago_today()).previous()


def seed_dps_answer(state: dict[str, Any], size: int) -> str:
    """Seeder: DPS's answers for the quarter and the year the demo sends (after ``seed``: same ``size``)."""
    answered = []
    for period in (default_period(), default_year()):
        written = place_dps_answer(period.label, size=size)
        rows = len(written[0].read_text(encoding="ascii").splitlines()) - 1
        answered.append(f"{period.label}: {rows} result rows")
    return f"DPS answers in {paths.sftp_root() / ANSWER_FOLDER}: {', '.join(answered)}"
