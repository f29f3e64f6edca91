"""Where the bundle's non-Python resources live, relative to this package."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SQL_DIR = PROJECT_ROOT / "include" / "sql"
INCLUDE_DIR = PROJECT_ROOT / "include"
GRAPHQL_DIR = INCLUDE_DIR / "graphql"
