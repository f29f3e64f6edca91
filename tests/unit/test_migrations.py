"""The migration files' naming rules (no database)."""

from __future__ import annotations

import pytest

from etl_bundle.common import migrations


def test_misnumbered_migrations_are_refused(tmp_path, monkeypatch):
    folder = tmp_path / "demo" / "migrations"
    folder.mkdir(parents=True)
    (folder / "0001_first.sql").write_text("SELECT 1;")
    (folder / "0003_third.sql").write_text("SELECT 1;")
    monkeypatch.setattr(migrations, "SQL_DIR", tmp_path)
    with pytest.raises(ValueError, match="without gaps"):
        migrations.migration_files("demo")
    (folder / "0003_third.sql").rename(folder / "0002-Second.sql")
    with pytest.raises(ValueError, match="NNNN_lower_snake"):
        migrations.migration_files("demo")
