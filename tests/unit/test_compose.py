"""docker-compose.airflow.yml, checked without a Docker engine: against the pinned Airflow and the native cluster."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.airflow.yml").read_text())
DEV = yaml.safe_load((PROJECT_ROOT / "docker-compose.dev.yml").read_text())
DOCKERFILE = (PROJECT_ROOT / "Dockerfile.airflow").read_text()
AIRFLOW_SERVICES = {name: s for name, s in COMPOSE["services"].items() if name.startswith("airflow-")}
COMPONENTS = {name: s for name, s in AIRFLOW_SERVICES.items() if name != "airflow-init"}


VOLUME = re.compile(r"(?P<source>\$\{[^}]*\}[^:]*|[^:]+):(?P<target>[^:]+)(:\w+)?")


def mount_parts(volume: str) -> tuple[str, str]:
    match = VOLUME.fullmatch(volume)
    assert match, f"unreadable volume {volume!r}"
    return match.group("source"), match.group("target")


def pinned(package: str) -> str:
    match = re.search(rf"^{re.escape(package)}==(\S+)$", (PROJECT_ROOT / "requirements.txt").read_text(), re.M)
    assert match, f"{package} not pinned in requirements.txt"
    return match.group(1)


@pytest.fixture(scope="module")
def airflow_options() -> set[tuple[str, str]]:
    """(section, option) of every setting the pinned Airflow and its installed providers know."""
    listing = subprocess.run(
        [sys.executable, "-m", "airflow", "config", "list", "--defaults"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    options, section = set(), None
    for line in listing.splitlines():
        if header := re.fullmatch(r"\[(\w+)\]", line.strip()):
            section = header.group(1)
        elif option := re.fullmatch(r"#?\s*(\w+) =( .*)?", line.strip()):
            options.add((section, option.group(1)))
    return options


def test_every_airflow_setting_is_a_real_option_of_the_pinned_airflow(airflow_options):
    for name, service in AIRFLOW_SERVICES.items():
        for key in service.get("environment", {}):
            if key.startswith("AIRFLOW__"):
                section, option = key.removeprefix("AIRFLOW__").lower().split("__", 1)
                assert (section, option) in airflow_options, (
                    f"{name}: {key} is no option of Airflow {pinned('apache-airflow')}"
                )


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_every_command_is_a_real_airflow_subcommand(name):
    from airflow.cli.cli_parser import get_parser

    with pytest.raises(SystemExit) as done:
        get_parser().parse_args([*COMPONENTS[name]["command"].split(), "--help"])
    assert done.value.code == 0, f"{name}: `airflow {COMPONENTS[name]['command']}` is not a command"


def test_the_image_is_the_pinned_airflow_with_the_bundle_baked_in():
    version = pinned("apache-airflow")
    assert re.search(rf"^FROM apache/airflow:{re.escape(version)}-python3\.11$", DOCKERFILE, re.M)
    assert COMPOSE["x-airflow-common"]["image"].endswith(f":{version}}}")
    for folder in ("dags", "plugins", "include"):
        assert re.search(rf"^COPY .*\b{folder} /opt/airflow/bundle/{folder}$", DOCKERFILE, re.M), folder
    env = COMPOSE["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/bundle/dags"
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/airflow/bundle/plugins"


def test_secrets_are_required_from_the_environment_and_passwords_kept_on_a_volume():
    env = COMPOSE["x-airflow-common"]["environment"]
    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", env[key]), f"{key} must be required (${{VAR:?message}})"
    passwords = env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    mounts = [mount_parts(volume)[1] for volume in COMPOSE["x-airflow-common"]["volumes"]]
    assert any(passwords.startswith(mount + "/") for mount in mounts), "the passwords file is not on a mounted folder"


def test_every_component_has_a_healthcheck():
    for name, service in COMPONENTS.items():
        assert service.get("healthcheck", {}).get("test"), f"{name}: no healthcheck"


def test_mounted_folders_exist_in_the_repo_or_are_made_by_the_init_service():
    init = " ".join(COMPOSE["services"]["airflow-init"]["command"])
    for name, service in {**COMPOSE["services"], **DEV["services"]}.items():
        for volume in service.get("volumes", []):
            source, target = mount_parts(volume)
            if source.startswith("./"):
                assert (PROJECT_ROOT / source).is_dir(), f"{name}: {source} is not in the repo"
            elif source.startswith("${AIRFLOW_PROJ_DIR"):
                assert "mkdir -p" in init and target in init and "chown" in init, f"{target} not made by init"


def test_the_native_cluster_runs_the_same_components_with_the_same_settings():
    from devstack import cluster

    native = {
        " ".join(word for word in command if "@" not in word and word != "--celery-hostname")
        for command in cluster.COMPONENTS.values()
    }
    assert native == {service["command"] for service in COMPONENTS.values()}
    env = COMPOSE["x-airflow-common"]["environment"]
    for key, value in cluster.CELERY_SETTINGS.items():
        assert env.get(key) == value, f"{key}: compose {env.get(key)!r}, devstack cluster {value!r}"
