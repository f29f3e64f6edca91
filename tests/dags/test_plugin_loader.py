"""The plugin loader registers only plugin.py and never imports the package under a bare name."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import PLUGINS, PROJECT_ROOT

PROBE = """
import json, sys
before = set(sys.modules)
from airflow import plugins_manager
plugins_manager.ensure_plugins_loaded()
plugins, errors = plugins_manager._get_plugins()
loaded = set(sys.modules) - before
print(json.dumps({
    "plugins": sorted(p.name for p in plugins),
    "sources": sorted(str(getattr(p, "source", "")) for p in plugins),
    "errors": {k: str(v) for k, v in errors.items()},
    "modules": sorted(loaded),
}))
"""


def _package_module_basenames() -> set[str]:
    package = PLUGINS / "etl_bundle"
    return {p.stem for p in package.rglob("*.py") if p.stem != "__init__"}


def test_loader_registers_only_plugin_py_and_keeps_the_package_out():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=PROJECT_ROOT, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["errors"] == {}
    assert found["plugins"] == ["etl_bundle"]
    assert all("plugin.py" in source for source in found["sources"]), found["sources"]
    # A package module executed by the loader would appear under its bare file name.
    bare = {m for m in found["modules"] if "." not in m} & _package_module_basenames()
    assert not bare, f"plugin loader imported package modules as top-level modules: {sorted(bare)}"
    assert "plugins.etl_bundle" not in found["modules"]


def test_package_is_imported_under_one_spelling():
    import etl_bundle.common.sql as sql_module

    assert sql_module.__name__ == "etl_bundle.common.sql"
    assert "plugins.etl_bundle" not in sys.modules
    assert (PLUGINS / ".airflowignore").read_text().split() == ["etl_bundle/"]
