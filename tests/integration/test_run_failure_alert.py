"""One alert mail per failed run: five mapped instances fail, one message reaches the SMTP sink."""

from __future__ import annotations

from datetime import date

import pytest

from devstack import energy_transfer_data as et
from tests.integration.conftest import run_dag, task_states
from tests.integration.test_tec_operational_capacity import FAST, LOCATIONS, fresh_day, tec_dag  # noqa: F401

pytestmark = pytest.mark.integration

FIVE_CYCLES = ["Timely", "Evening", "Intraday 1", "Intraday 2", "Intraday 3"]


def publish_bad_headers(day: date) -> None:
    """A header Energy Transfer never sends: each cycle's load fails at once, without retry."""
    for cycle in FIVE_CYCLES:
        et.publish(day, cycle, et.capacity_csv(day, cycle, LOCATIONS).replace("Loc Zn,", "Loc Zone Code,", 1))


def test_five_failed_mapped_loads_send_one_mail_naming_them_and_linking_the_run(tec_dag, fresh_day, maildir):  # noqa: F811
    day = fresh_day(date(2025, 5, 20))
    publish_bad_headers(day)
    seen = set(maildir.keys())
    result = run_dag(tec_dag, FAST, gas_day=day.isoformat(), cycles=FIVE_CYCLES)
    assert result.state == "failed"
    assert task_states(result)["cycle.load"] == ["failed"] * 5
    new = [maildir[key] for key in set(maildir.keys()) - seen]
    assert len(new) == 1, [m["Subject"] for m in new]
    [mail] = new
    assert mail["To"] == "data-engineering-alerts@example.org"
    assert mail["Subject"].startswith("[airflow] tec_operational_capacity failed: ")
    assert "check_cycles" in mail["Subject"] and "cycle.load[0, 1, 2, 3, 4]" in mail["Subject"]
    body = mail.get_payload(decode=False)
    text = body if isinstance(body, str) else "".join(part.get_payload(decode=True).decode() for part in body)
    assert f"/dags/tec_operational_capacity/runs/{result.run_id}".replace(":", "%3A").replace("+", "%2B") in text
