"""The deployment files pass the linters that run here (no Docker engine on these machines)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.local_redis import stop_local_redis
from tests.cli_runner import base_env, run_cli

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_dockerfile_passes_hadolint() -> None:
    """Hadolint finds nothing to report in deploy/Dockerfile."""
    result = subprocess.run(
        [str(BIN / "hadolint"), "--no-color", str(ROOT / "deploy" / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_is_valid(tmp_path: Path) -> None:
    """Docker Compose's own parser accepts deploy/compose.yaml with the example settings."""
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", deploy)
    (deploy / ".env").write_text((deploy / ".env.example").read_text())
    result = subprocess.run(
        [str(BIN / "docker-compose"), "-f", str(deploy / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_env_example_documents_every_setting() -> None:
    """deploy/.env.example lists exactly the variables of the settings model, each with a comment above it."""
    settings = {name.upper() for name, field in Settings.model_fields.items() if not field.exclude}
    lines = (ROOT / "deploy" / ".env.example").read_text().splitlines()
    documented = {line.split("=", 1)[0]: n for n, line in enumerate(lines) if "=" in line and not line.startswith("#")}
    assert settings == set(documented), settings ^ set(documented)
    for name, n in documented.items():
        assert lines[n - 1].startswith("#"), f"{name} has no comment"


def _compose_config(tmp_path: Path) -> dict[str, Any]:
    """deploy/compose.yaml as Docker Compose resolves it with the example settings."""
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", deploy)
    (deploy / ".env").write_text((deploy / ".env.example").read_text())
    result = subprocess.run(
        [str(BIN / "docker-compose"), "-f", str(deploy / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=True,
    )
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def test_compose_publishes_health_and_checks_it(tmp_path: Path) -> None:
    """The bot service sets METRICS_PORT, publishes it on the host's loopback and checks /healthz."""
    bot = _compose_config(tmp_path)["services"]["bot"]
    port = bot["environment"]["METRICS_PORT"]
    assert bot["environment"]["METRICS_HOST"] == "0.0.0.0"
    assert [(p["host_ip"], p["published"], str(p["target"])) for p in bot["ports"]] == [("127.0.0.1", port, port)]
    check = " ".join(bot["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/healthz" in check


def _systemd_environment(unit: str, environment_file: str) -> dict[str, str]:
    """The environment systemd gives the unit's process: Environment= lines, then the EnvironmentFile= ones."""
    env: dict[str, str] = {}
    for line in unit.splitlines():
        if line.startswith("Environment="):
            key, _, value = line.removeprefix("Environment=").partition("=")
            env[key] = value
    for line in environment_file.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


async def test_the_systemd_unit_works_with_the_example_settings_copied(tmp_path: Path) -> None:
    """With .env.example as EnvironmentFile=, the bot keeps its Redis in the unit's StateDirectory, not in $HOME."""
    unit = (ROOT / "deploy" / "arxiv-digest.service").read_text()
    state_name = re.search(r"^StateDirectory=(\S+)$", unit, re.MULTILINE)
    assert state_name is not None and re.search(r"^EnvironmentFile=", unit, re.MULTILINE)
    state = tmp_path / "var-lib" / state_name[1]
    state.mkdir(parents=True)
    hidden_home = tmp_path / "home-hidden-by-ProtectHome"
    hidden_home.write_text("")  # nothing can be created under it, as with ProtectHome=true
    env = base_env(hidden_home, **_systemd_environment(unit, (ROOT / "deploy" / ".env.example").read_text()))
    env["STATE_DIRECTORY"] = str(state)  # what systemd sets for StateDirectory=
    try:
        run = await run_cli(["export"], env, tmp_path)
    finally:
        stop_local_redis(state)  # the bot's own Redis outlives the command: stop it with the test
    assert run.code == 0, run.err
    assert (state / "redis").is_dir()


def test_readme_layout_names_every_module() -> None:
    """The README's layout section names every module of arxiv_digest/, bot/ and handlers/."""
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") : readme.index("## Testing")]
    packages = ("arxiv_digest", "bot", "handlers")
    modules = {p.name for package in packages for p in (ROOT / package).rglob("*.py")} - {"__init__.py"}
    assert {m for m in modules if m not in layout} == set()


def test_readme_states_the_benchmark_run_time_once() -> None:
    """The benchmark's run time is given once, as measured, in docs/performance.md; the README points there."""
    docs = (ROOT / "README.md").read_text() + (ROOT / "docs" / "performance.md").read_text()
    durations = re.findall(r"about \d+ minutes|under \d+ minutes|took \d+ s", docs)
    assert durations == ["took 622 s"], durations
