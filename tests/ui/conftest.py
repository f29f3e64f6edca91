"""The browser tier: the Airflow UI of the devstack's cluster, driven by Debian's chromium through Playwright.

Every page a test visits is saved as a PNG under ``build/ui/`` (ignored) and the
paths are printed at the end of the session, so a person can look. What a test
expects comes from the DAGs themselves (the REST API's DAG details and params),
never from a copy of today's values.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from tests.cluster.conftest import airflow_api  # noqa: F401 - the cluster, as a REST client
from tests.integration.conftest import devstack_state, warehouse  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "ui"
# Two shared cores: the React UI can take tens of seconds to answer under load.
TIMEOUT_MS = 120_000
SAVED: list[Path] = []
# The accordion of the Params without a `section` (the UI's own name for it).
DEFAULT_SECTION = "Run Parameters"


class Ui:
    """The logged-in browser page, its base URL, the REST client for what a test waits on."""

    def __init__(self, context, page, base_url: str, api) -> None:
        self.context, self.page, self.base_url, self.api = context, page, base_url, api

    def open(self, path: str, ready: str | None = None):
        self.page.goto(self.base_url + path, wait_until="load")
        if ready:
            self.page.get_by_text(ready, exact=True).first.wait_for()
        return self.page

    def shot(self, name: str) -> Path:
        """The page as a PNG; through CDP, as Playwright's own screenshot waits on web fonts that never load here."""
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cdp = self.context.new_cdp_session(self.page)
        try:
            path.write_bytes(base64.b64decode(cdp.send("Page.captureScreenshot", {"format": "png"})["data"]))
        finally:
            cdp.detach()
        SAVED.append(path)
        print(f"screenshot: {path}")
        return path

    def dag_details(self, dag_id: str) -> dict:
        return self.api.get(f"/dags/{dag_id}/details")

    def open_trigger_form(self, dag_id: str, *, has_params: bool = True):
        page = self.open(f"/dags/{dag_id}")
        page.get_by_role("button", name="Trigger Dag", exact=True).click()
        dialog = page.get_by_role("dialog")
        # Every form has Advanced Options. Params sit in accordions: "Run Parameters" for those
        # without a `section`, one per section (a DAG whose Params all have one has no "Run Parameters").
        dialog.get_by_text("Advanced Options").first.wait_for()
        if has_params:
            dialog.locator("button[aria-expanded]").filter(has_not_text="Advanced Options").first.wait_for()
        return dialog

    def open_section(self, dialog, section: str | None) -> None:
        """Open the accordion of a Params section: the form keeps one open at a time, and the
        fields of a closed one are hidden (unreadable, not fillable)."""
        from playwright.sync_api import expect

        name = section or DEFAULT_SECTION
        trigger = dialog.locator("button[aria-expanded]").filter(has=self.page.get_by_text(name, exact=True))
        if trigger.get_attribute("aria-expanded") != "true":
            trigger.click()
        expect(trigger).to_have_attribute("aria-expanded", "true")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, checked before the cluster starts: without it the tier fails at once, saying why."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} missing: `apt-get install chromium` (.ci/run installs it)", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def ui(chromium, airflow_api, tmp_path_factory):  # noqa: F811
    from playwright.sync_api import sync_playwright

    from devstack import cluster

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        session = Ui(context, page, airflow_api.base_url, airflow_api)
        session.open("/")
        page.locator("input[name=username]").fill("admin")
        page.locator("input[name=password]").fill(cluster.admin_password())
        session.shot("login")
        page.locator("button[type=submit]").click()
        page.get_by_role("button", name="Dags").or_(page.get_by_role("link", name="Dags")).first.wait_for()
        yield session
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.ui_failed = report.failed


@pytest.fixture(autouse=True)
def shot_on_failure(request):
    """A failed test's page is saved too: what the UI showed instead."""
    yield
    if getattr(request.node, "ui_failed", False) and "ui" in request.fixturenames:
        request.getfixturevalue("ui").shot(f"FAILED_{request.node.name}")


def pytest_terminal_summary(terminalreporter):
    if SAVED:
        terminalreporter.write_sep("-", f"UI screenshots ({len(SAVED)}) under {ARTIFACTS}")
        for path in SAVED:
            terminalreporter.write_line(str(path))
