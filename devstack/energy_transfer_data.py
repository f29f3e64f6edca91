"""Generated Energy Transfer capacity files for the stand-in, in the real column layout.

Values are deterministic per (gas day, cycle, revision), so a reseed publishes the
same files and a test can publish a changed revision of one cycle.
"""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from devstack import paths

HEADER = (
    "Loc,Loc Zn,Loc Name,Loc Purp Desc,Loc/QTI,Flow Ind,DC,OPC,TSQ,OAC,IT,"
    "Auth Overrun Ind,Nom Cap Exceed Ind,All Qty Avail,Qty Reason"
)
CENTRAL = ZoneInfo("America/Chicago")
ENDPOINT_PATH = "TW/capacity/operationally-available"
ORIGINAL_ENDPOINT = "tw_operational_capacity"  # the endpoint whose table the original created
ZONES = ("West of Thoreau", "Thoreau", "San Juan", "Panhandle", "East of Thoreau", "Permian")
PURPOSES = ("Delivery Location", "Receipt Location", "Pool", "Segment")
REASONS = ("", "", "", "Capacity Unavailable - maintenance", "Nominations exceed capacity", "")


def file_name(gas_day: date, cycle: str) -> str:
    """As Energy Transfer names its downloads: cycle and MM-DD-YYYY in the name."""
    return f"TW_OperationallyAvailable_{cycle.replace(' ', '')}_{gas_day:%m-%d-%Y}.csv"


def capacity_csv(gas_day: date, cycle: str, locations: int, revision: int = 0) -> str:
    rng = random.Random(f"{gas_day}|{cycle}|{revision}")
    lines = [HEADER]
    for n in range(locations):
        loc_rng = random.Random(f"loc|{n}")  # a location's identity is the same in every file
        design = loc_rng.randrange(10_000, 600_000)
        operating = design - rng.randrange(0, design // 10)
        scheduled = rng.randrange(0, operating)
        lines.append(
            ",".join(
                [
                    str(500_000 + n),
                    loc_rng.choice(ZONES),
                    f'"TW {loc_rng.choice(("NNG", "EPNG", "SOCAL", "PG&E", "Oneok"))} #{n:04d}"',
                    loc_rng.choice(PURPOSES),
                    loc_rng.choice(("MQ", "IQ", "RQ")),
                    loc_rng.choice(("D", "R")),
                    str(design),
                    str(operating),
                    str(scheduled),
                    str(operating - scheduled),
                    rng.choice(("Y", "N")),
                    rng.choice(("Y", "N")),
                    rng.choice(("Y", "N")),
                    rng.choice(("Y", "N")),
                    rng.choice(REASONS),
                ]
            )
        )
    return "\n".join(lines) + "\n"


# The cycles Energy Transfer publishes (the stand-in maps its codes to them, devstack/energy_transfer.py).
CYCLES = ("Timely", "Evening", "Intraday 1", "Intraday 2", "Intraday 3", "Final")


def cycle_dir(gas_day: date, cycle: str, data_dir: Path | None = None) -> Path:
    return (data_dir or paths.energy_transfer_dir()) / ENDPOINT_PATH / gas_day.isoformat() / cycle.replace(" ", "_")


def publish(gas_day: date, cycle: str, text: str, *, name: str | None = None, publish_at: float | None = None) -> Path:
    """Put one cycle's file in place, replacing whatever was there."""
    folder = cycle_dir(gas_day, cycle)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    if publish_at is not None:
        (folder / "publish_at").write_text(str(publish_at))
    target = folder / (name or file_name(gas_day, cycle))
    target.write_text(text)
    return target


def unpublish(gas_day: date, cycle: str) -> None:
    folder = cycle_dir(gas_day, cycle)
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()


def throttle(status: int, count: int, retry_after: int | None = None) -> None:
    """The next ``count`` requests are refused with ``status`` (403 or 429)."""
    parts = [str(status), str(count), *([str(retry_after)] if retry_after is not None else [])]
    (paths.energy_transfer_dir() / "throttle").write_text(" ".join(parts))


def fault(kind: str, count: int, argument: str | int | float | None = None) -> None:
    """The next ``count`` requests are spoiled: ``status`` (argument: the code), ``reset`` or
    ``delay`` (argument: seconds); see devstack/energy_transfer.py."""
    parts = [kind, str(count), *([str(argument)] if argument is not None else [])]
    (paths.energy_transfer_dir() / "fault").write_text(" ".join(parts))


def prepare_warehouse(conn) -> str:
    """The original's table in the warehouse (devstack/originals/tec.sql, with its rows), for the
    bundle's first run to adopt, unless an earlier seed loaded it or the bundle migrated it already
    (so a re-seed keeps what is there). ``conn`` is a psycopg connection."""
    from psycopg import sql

    from devstack import originals
    from etl_bundle.tec.config import load_config
    from etl_bundle.tec.schema import migration_options

    endpoint = load_config()["endpoints"][ORIGINAL_ENDPOINT]
    table = f"{endpoint['schema']}.{endpoint['table']}"
    version_table = migration_options(endpoint)["version_table"]
    (existing,) = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    if existing is not None:
        (columns,) = conn.execute(
            "SELECT array_agg(attname::text) FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
            (table,),
        ).fetchone()
        if "id" not in columns:
            # The bundle's own tables from before migrations (never deployed): devstack data only.
            for suffix in ("", "_history", "_rejects"):
                name = sql.Identifier(endpoint["schema"], endpoint["table"] + suffix)
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
            conn.commit()
    if originals.load_unless_present(conn, "tec", marker=table, version_table=version_table):
        return f"{table} as the original left it (devstack/originals/tec.sql)"
    return f"{table} kept (the original's, or migrated)"


def seed(state: dict[str, Any], size: int, days: int = 8) -> str:
    """Recent gas days up to today (Central), every cycle published, with a few planted faults:
    today-1 Intraday 3 late (15 min), today-2 Evening never, today-3 Intraday 1 an HTML
    error page with 200, today-4 Intraday 2 malformed (unknown column: beyond the 3-day
    look-back, so today's run stays green), today-5 Intraday 1 two bad rows."""
    locations = max(10, min(size, 2000))
    today = datetime.now(CENTRAL).date()
    for offset in range(days):
        gas_day = today - timedelta(days=offset)
        for cycle in CYCLES:
            text = capacity_csv(gas_day, cycle, locations)
            planted = (offset, cycle)
            if planted == (2, "Evening"):
                unpublish(gas_day, cycle)
                continue
            if planted == (1, "Intraday 3"):
                publish(gas_day, cycle, text, publish_at=time.time() + 15 * 60)
            elif planted == (4, "Intraday 2"):
                publish(gas_day, cycle, text.replace("Loc Zn,", "Loc Zone Code,", 1))
            elif planted == (3, "Intraday 1"):
                page = "<html><body><h1>Service temporarily unavailable</h1>" + " " * 300 + "</body></html>\n"
                publish(gas_day, cycle, page, name="error.html")
            elif planted == (5, "Intraday 1"):
                rows = text.splitlines()
                rows[1] = rows[1].replace(rows[1].split(",")[6], "n/a", 1)
                rows[2] = rows[2].replace(rows[2].split(",")[7], "-5", 1)
                publish(gas_day, cycle, "\n".join(rows) + "\n")
            else:
                publish(gas_day, cycle, text)
    import psycopg

    from devstack.services import DATABASES, server_url

    with psycopg.connect(server_url(state["services"]["postgres"], DATABASES["warehouse"])) as conn:
        warehouse = prepare_warehouse(conn)
    return f"Energy Transfer files for {days} gas days up to {today} ({locations} locations per file); {warehouse}"
