"""eCapris statuses in the Oracle stand-in and Moped projects behind the Hasura stand-in.

The Oracle side is ``ATD_SUB_PROJECT_STATUS_VW``, a view over a table the tests can
change (``ecapris_sub_project_status``), with NUMBER(18,3) subproject numbers such as
10553.030, mojibake from the reference's issue, nulls and timestamps at both DST
changes. Moped gets users (matched by email), projects with sync on and off, a
deleted one, two sharing an id, one whose id Oracle does not know, one whose id is
not a number, and one status row Oracle has with a missing reviewer (a reject).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

ORACLE_DDL = """
DROP VIEW IF EXISTS atd_sub_project_status_vw;
DROP TABLE IF EXISTS ecapris_sub_project_status;
CREATE TABLE ecapris_sub_project_status (
    sp_number NUMERIC(18, 3) NOT NULL,
    sp_name VARCHAR(200),
    -- NUMBER in Oracle: it holds fractions and values beyond Moped's INTEGER, which the sync must reject.
    sub_project_status_id NUMERIC NOT NULL,
    curr_status_fl VARCHAR(1),
    sub_project_status_desc VARCHAR(4000),
    status_review_date TIMESTAMP,
    sub_project_status_impacts VARCHAR(4000),
    summ_desc VARCHAR(4000),
    reviewed_by VARCHAR(200),
    reviewed_by_email VARCHAR(200)
);
CREATE INDEX ecapris_sub_project_status_sp ON ecapris_sub_project_status (sp_number);
CREATE VIEW atd_sub_project_status_vw AS SELECT * FROM ecapris_sub_project_status;
"""
STATUS_COLUMNS = (
    "sp_number",
    "sp_name",
    "sub_project_status_id",
    "curr_status_fl",
    "sub_project_status_desc",
    "status_review_date",
    "sub_project_status_impacts",
    "summ_desc",
    "reviewed_by",
    "reviewed_by_email",
)
REVIEWERS = (("Garcia, Ana", "ana.garcia@austintexas.gov"), ("Nguyen, Bao", "bao.nguyen@austintexas.gov"))
# Double-encoded text as issue #23912 found it, and the general case.
MOJIBAKE = (
    "Awaiting the \u00e2\u00bf\u00bfspecialty\u00e2\u00bf\u009d review",
    "Per FDU\u00c2\u00bfs request, design is on hold",
    "Caf\u00c3\u00a9 frontage \u00e2\u20ac\u201d phase 2",
)
STATUS_TEXTS = ("Design 30%", "Design 60%", "Bid and award", "Construction", "Substantially complete", "Closed")
DST_EDGES = (datetime(2025, 3, 9, 2, 30), datetime(2025, 11, 2, 1, 30))
FIRST_STATUS_ID = 900_000
MISSING_ID = "99999.000"  # in Moped, not in Oracle
NOT_A_NUMBER = "CIP-LEGACY-7"


def subproject_id(n: int) -> str:
    return f"{10_000 + n * 7}.{(n * 10) % 1000:03d}"


def status_rows(subprojects: int, rng: random.Random) -> list[tuple]:
    rows = []
    status_id = FIRST_STATUS_ID
    for n in range(subprojects):
        sp = Decimal(subproject_id(n))
        name = f"Subproject {n} \u2013 {['Lamar Blvd', 'Guadalupe St', 'Riverside Dr'][n % 3]}"
        count = 1 + rng.randrange(6)
        start = datetime(2024, 1, 1, 9, 0) + timedelta(days=rng.randrange(300))
        for k in range(count):
            reviewer, email = REVIEWERS[(n + k) % 2]
            desc = MOJIBAKE[n % len(MOJIBAKE)] if k == 0 and n % 5 == 0 else STATUS_TEXTS[k % len(STATUS_TEXTS)]
            reviewed = DST_EDGES[n % 2] if k == 0 and n % 7 == 3 else start + timedelta(days=30 * k, minutes=n)
            rows.append(
                (
                    sp,
                    name if n % 9 else f"Subproject {n} \u00e2\u20ac\u201c Congress Ave",
                    status_id,
                    "Y" if k == count - 1 else "N",
                    desc,
                    reviewed,
                    None if k % 2 else f"Impacts lane {k}",
                    None if k % 3 else "Summary: on schedule",
                    reviewer,
                    email,
                )
            )
            status_id += 1
    # A row Moped must not get: its reviewer is missing.
    unreviewed = (Decimal(subproject_id(1)), "Subproject 1", status_id, "N", "Draft", DST_EDGES[0])
    rows.append((*unreviewed, None, None, None, None))
    return rows


def seed(state: dict[str, Any], size: int) -> str:
    import psycopg
    from psycopg import sql

    from devstack.services import DATABASES, server_url

    rng = random.Random(5)
    subprojects = max(20, size // 10)
    # Two more subprojects in Oracle than Moped's live projects: one only a deleted
    # project has, one no project has.
    rows = status_rows(subprojects + 2, rng)
    postgres = state["services"]["postgres"]
    with psycopg.connect(server_url(postgres, DATABASES["oracle_standin"])) as conn:
        conn.execute(ORACLE_DDL)
        copy_sql = sql.SQL("COPY ecapris_sub_project_status ({}) FROM STDIN").format(
            sql.SQL(", ").join(map(sql.Identifier, STATUS_COLUMNS))
        )
        with conn.cursor().copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
    with psycopg.connect(server_url(postgres, DATABASES["moped"])) as conn:
        conn.execute("TRUNCATE ecapris_subproject_statuses, moped_project, moped_users RESTART IDENTITY")
        conn.cursor().executemany(
            "INSERT INTO moped_users (first_name, last_name, email) VALUES (%s, %s, %s)",
            [("Ana", "Garcia", "Ana.Garcia@austintexas.gov"), ("Bao", "Nguyen", "bao.nguyen@austintexas.gov")],
        )
        projects = [(f"Project {n}", subproject_id(n), False, n % 10 != 4) for n in range(subprojects)]
        projects += [
            ("Project 0, second phase", subproject_id(0), False, True),  # shares an id
            ("Deleted project", subproject_id(subprojects), True, True),
            ("Project Oracle does not know", MISSING_ID, False, True),
            ("Legacy project", NOT_A_NUMBER, False, True),
            ("Project without eCapris", None, False, True),
        ]
        conn.cursor().executemany(
            "INSERT INTO moped_project (project_name, ecapris_subproject_id, is_deleted, should_sync_ecapris_statuses)"
            " VALUES (%s, %s, %s, %s)",
            projects,
        )
    return f"eCapris: {len(rows)} status rows for {subprojects} subprojects; {len(projects)} Moped projects"
