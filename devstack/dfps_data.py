"""Children in DFPS care in the Oracle stand-in: ``caps.qtr_dps_cvs`` for FY2024-FY2027.

Accented, hyphenated and multi-part names, apostrophes, particles, Feb 29 birthdays,
open exits, a person with two exits from one care entry, and rows without a birth or
entry date (dropped by the DAG, counted). Every name is made up.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

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


def seed(state: dict[str, Any], size: int) -> str:
    import psycopg

    from devstack.services import DATABASES, server_url

    per_quarter = max(20, size // 16)
    data = rows(per_quarter, random.Random(6))
    with psycopg.connect(server_url(state["services"]["postgres"], DATABASES["oracle_standin"])) as conn:
        conn.execute(DDL)
        with conn.cursor().copy(
            "COPY caps.qtr_dps_cvs (id_pp_person, nm_person_first, nm_person_middle, nm_person_last, dt_child_birth,"
            " dt_enter_care, dt_exit_care, gender, rpt_fiscal_yr, rpt_qtr) FROM STDIN"
        ) as copy:
            for row in data:
                copy.write_row(row)
    return f"DFPS: {len(data)} children-in-care rows in caps.qtr_dps_cvs, FY{FISCAL_YEARS[0]}-FY{FISCAL_YEARS[-1]}"
