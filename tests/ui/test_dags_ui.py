"""The DAG list, each DAG's docs and each trigger form, as the UI's users see them."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from devstack import paths

pytestmark = pytest.mark.integration

DAG_IDS = paths.bundle_dag_ids()
TEC = "tec_operational_capacity"

# Innermost element around a DAG's link that holds no other DAG's link: its card (or row).
CARD_TEXT = """([dagId, allIds]) => {
  const link = [...document.querySelectorAll('a')].find(a => a.textContent.trim() === dagId);
  if (!link) return null;
  let card = link;
  while (card.parentElement) {
    const parent = card.parentElement;
    const others = [...parent.querySelectorAll('a')].filter(a => allIds.includes(a.textContent.trim()) && a !== link);
    if (others.length) break;
    card = parent;
  }
  return card.innerText;
}"""


def test_the_dag_list_shows_every_bundle_dag_with_its_tags_and_description(ui):
    listed = {dag["dag_id"]: dag for dag in ui.api.get("/dags", limit=100)["dags"]}
    assert set(DAG_IDS) <= set(listed), set(DAG_IDS) - set(listed)
    page = ui.page
    page.set_viewport_size({"width": 1400, "height": 1400 + 250 * len(DAG_IDS)})
    try:
        ui.open("/dags", ready=DAG_IDS[-1])
        ui.shot("dag_list")
        missing = []
        for dag_id in DAG_IDS:
            text = page.evaluate(CARD_TEXT, [dag_id, DAG_IDS])
            assert text, f"{dag_id}: not in the DAG list"
            for tag in listed[dag_id]["tags"]:
                assert tag["name"] in text, f"{dag_id}: tag {tag['name']!r} not shown"
            description = listed[dag_id].get("description")
            if not description or "\n" in description.strip():
                missing.append(f"{dag_id}: no one-line description ({description!r})")
            elif description not in text:
                # Airflow 3.3's DAG card shows it as the tooltip of the DAG's name (after a delay).
                page.get_by_role("link", name=dag_id, exact=True).first.hover()
                try:
                    page.get_by_text(description, exact=True).first.wait_for(state="visible", timeout=5000)
                except PlaywrightTimeoutError:
                    missing.append(f"{dag_id}: description {description!r} not shown")
                else:
                    if dag_id == DAG_IDS[0]:
                        ui.shot("dag_list_description_tooltip")
                page.mouse.move(0, 0)
        assert not missing, missing
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})


def first_heading(doc_md: str) -> str:
    match = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", doc_md, re.M)
    assert match, "doc_md has no heading"
    return match.group(1).strip("` ")


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_each_dag_s_docs_render_as_formatted_text(ui, dag_id):
    doc_md = ui.dag_details(dag_id)["doc_md"]
    assert doc_md, f"{dag_id}: no doc_md"
    page = ui.open(f"/dags/{dag_id}")
    page.get_by_role("button", name="Dag Docs", exact=True).click()
    dialog = page.get_by_role("dialog")
    heading = first_heading(doc_md)
    dialog.get_by_role("heading", name=heading).first.wait_for()
    ui.shot(f"docs_{dag_id}")
    text = dialog.inner_text()
    # Formatted: the markdown's markup became elements, none of it is left as text.
    assert not re.search(r"^#{1,6} ", text, re.M), "a heading shown as raw markdown"
    assert "**" not in text, "bold shown as raw markdown"
    if "**" in doc_md:
        assert dialog.locator("strong").count() > 0
    if "`" in doc_md:
        assert dialog.locator("code").count() > 0
    dialog.get_by_role("button", name="Close").click()


def params_of(details: dict) -> dict[str, dict]:
    return {name: {"schema": {}, **spec} for name, spec in (details.get("params") or {}).items()}


def shown_default(value, schema: dict) -> str:
    """What the form's field holds for a default."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, indent=4)
    return str(value)


def is_choice(schema: dict) -> bool:
    return bool(schema.get("enum") or (schema.get("items") or {}).get("enum"))


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_each_trigger_form_shows_every_param_with_title_description_and_default(ui, dag_id):
    params = params_of(ui.dag_details(dag_id))
    dialog = ui.open_trigger_form(dag_id, has_params=bool(params))
    ui.shot(f"trigger_form_{dag_id}")
    problems = []
    sections = {spec["schema"].get("section") for spec in params.values()}
    for section in sorted(sections, key=lambda s: s or ""):
        ui.open_section(dialog, section)
        ui.shot(f"trigger_form_{dag_id}_{section or 'default'}")
        in_section = {name: spec for name, spec in params.items() if spec["schema"].get("section") == section}
        problems += section_problems(ui, dialog, in_section)
    ui.page.keyboard.press("Escape")
    assert not problems, problems


def section_problems(ui, dialog, params: dict[str, dict]) -> list[str]:
    """What the open section's fields show differently from their Params."""
    problems = []
    for name, spec in params.items():
        schema = spec["schema"]
        field = dialog.locator("[data-scope=field][data-part=root]").filter(
            has=ui.page.locator(f"[id='element_{name}'], [name='element_{name}']")
        )
        if field.count() != 1:
            problems.append(f"{name}: no field in the form")
            continue
        label = field.locator("label").first.inner_text().replace("*", "").strip()
        title = schema.get("title")
        if not title:
            problems.append(f"{name}: no title")
        elif label != title:
            problems.append(f"{name}: label {label!r}, title {title!r}")
        description = spec.get("description") or schema.get("description_md")
        if not description:
            problems.append(f"{name}: no description")
        elif description.strip() not in field.inner_text():
            problems.append(f"{name}: description {description!r} not shown")
        if is_choice(schema):
            if field.locator("[role=combobox], select, [data-part=control]").count() == 0:
                problems.append(f"{name}: choices not offered as a selection")
        elif schema.get("type") == "boolean" or spec["value"] is True or spec["value"] is False:
            checked = field.locator("input[type=checkbox]").first.is_checked()
            if checked != bool(spec["value"]):
                problems.append(f"{name}: switch {checked}, default {spec['value']!r}")
        else:
            element = field.locator("input, textarea").first
            if element.input_value() != shown_default(spec["value"], schema):
                problems.append(f"{name}: shows {element.input_value()!r}, default {spec['value']!r}")
    return problems


def out_of_schema(params: dict[str, dict]) -> tuple[str, str, str]:
    """A param with a minimum, a value below it and the schema's message for it (jsonschema's words)."""
    # A negative count first (as max_rejected_rows), else whatever lies below a minimum.
    for name, spec in sorted(params.items(), key=lambda item: item[1]["schema"].get("minimum") != 0):
        minimum = spec["schema"].get("minimum")
        if minimum is not None and "integer" in json.dumps(spec["schema"].get("type")):
            value = int(minimum) - 1 if minimum > 0 else -1
            return name, str(value), f"{value} is less than the minimum of {minimum}"
    raise AssertionError("no integer Param with a minimum: list the DAG in WITHOUT_A_BOUNDED_COUNT")


def runs_of(api, dag_id: str) -> set[str]:
    return {run["dag_run_id"] for run in api.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]}


def submit_conf(ui, dialog, dag_id: str, conf: dict) -> None:
    """Type ``conf`` into the form's Configuration JSON (Advanced Options) and press Trigger, DAG left paused.

    The form's own fields cannot carry such values: a date field holds no 2026-13-01, a number
    field clamps to its minimum. The JSON is where a user can type them, and the server's schema
    check is what refuses them.
    """
    unpause = dialog.get_by_role("checkbox", name=f"Unpause {dag_id} on trigger")
    if unpause.count() and unpause.is_checked():
        dialog.get_by_text(f"Unpause {dag_id} on trigger").click()
    dialog.get_by_text("Advanced Options").click()
    dialog.locator(".monaco-editor").first.click()
    ui.page.keyboard.press("Control+A")
    ui.page.keyboard.press("Delete")
    # insert_text, not typing: the editor would close each bracket and quote a second time.
    ui.page.keyboard.insert_text(json.dumps(conf))
    dialog.get_by_role("button", name="Trigger", exact=True).click()


# DAGs whose Params hold no bounded count (a period and a switch, or none): nothing to refuse there.
WITHOUT_A_BOUNDED_COUNT = {"bundle_connections_check", "dfps_dps_send", "dfps_dps_send_yearly"}


@pytest.mark.parametrize("dag_id", [d for d in DAG_IDS if d not in WITHOUT_A_BOUNDED_COUNT])
def test_a_value_outside_a_param_s_schema_is_refused_with_the_schema_s_message(ui, dag_id):
    name, value, message = out_of_schema(params_of(ui.dag_details(dag_id)))
    before = runs_of(ui.api, dag_id)
    dialog = ui.open_trigger_form(dag_id)
    submit_conf(ui, dialog, dag_id, {name: int(value)})
    dialog.get_by_text(message).first.wait_for()
    ui.shot(f"trigger_refused_{dag_id}_{name}")
    ui.page.keyboard.press("Escape")
    assert runs_of(ui.api, dag_id) == before, "the refused value still triggered a run"


def test_an_impossible_gas_day_is_refused_with_the_schema_s_message(ui):
    before = runs_of(ui.api, TEC)
    dialog = ui.open_trigger_form(TEC)
    submit_conf(ui, dialog, TEC, {"gas_day": "2026-13-01"})
    dialog.get_by_text("'2026-13-01' is not a 'date'").first.wait_for()
    ui.shot("trigger_refused_tec_gas_day")
    ui.page.keyboard.press("Escape")
    assert runs_of(ui.api, TEC) == before
