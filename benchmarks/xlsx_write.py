"""The project's workbook writer against ``pandas.DataFrame.to_excel`` (openpyxl engine).

One run, the same rows: a reconciliation-shaped sheet (``DPS_total_runaway_events``'s
17 columns: text, dates, numbers) of ``--rows`` rows. No services needed. Prints
both times; the last line is ``writer/pandas time ratio: R``. Goal: R at most 0.5.

Usage: python benchmarks/xlsx_write.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from etl_bundle.common.xlsx import write_workbook  # noqa: E402
from etl_bundle.dfps.reconcile import EVENT_COLUMNS  # noqa: E402

COLUMNS = EVENT_COLUMNS  # the widest reconciliation workbook


def make_rows(count: int) -> list[dict]:
    base = date(2024, 9, 1)
    rows = []
    for n in range(count):
        contact = base + timedelta(days=n % 90)
        rows.append(
            {
                "CPS_DOB": date(2008, 1, 1) + timedelta(days=n % 3000),
                "S": "MF"[n % 2],
                "R": "W",
                "E": "H",
                "LAST_CONT": contact,
                "HR": "N",
                "ORI_DESC": f"POLICE DEPARTMENT {n % 250}",
                "COUNTY_NAME": f"COUNTY {n % 254}",
                "ORI_PHONE": f"512-555-{n % 10000:04d}",
                "NIC": f"M{n:09d}",
                "STS": ("LOC", "ACTV", "CLRD", "CANC")[n % 4],
                "LOCATE_DT": contact + timedelta(days=3) if n % 4 == 0 else None,
                "CLR_CAN_DT": contact + timedelta(days=5) if n % 4 in (2, 3) else None,
                "Person_ID": 700_000 + n,
                "Entered_Care": contact - timedelta(days=200),
                "Exited_Care": None if n % 3 else contact + timedelta(days=100),
                "CombDate": contact + timedelta(days=3) if n % 4 == 0 else None,
            }
        )
    return rows


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    rows = make_rows(args.rows)
    with tempfile.TemporaryDirectory(prefix="xlsx-bench-") as tmp:
        started = time.perf_counter()
        written = write_workbook(Path(tmp) / "writer.xlsx", COLUMNS, rows)
        writer_seconds = time.perf_counter() - started

        started = time.perf_counter()
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        frame.to_excel(Path(tmp) / "pandas.xlsx", index=False, engine="openpyxl")
        pandas_seconds = time.perf_counter() - started
    assert written == args.rows
    print(f"rows: {args.rows}, columns: {len(COLUMNS)}")
    print(f"project writer (streamed XML):        {writer_seconds:7.2f} s")
    print(f"pandas.DataFrame.to_excel (openpyxl): {pandas_seconds:7.2f} s")
    print(f"writer/pandas time ratio: {writer_seconds / pandas_seconds:.2f}")


if __name__ == "__main__":
    main()
