"""The deployment files pass the linters that run here (no Docker engine on these machines)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_dockerfile_passes_hadolint() -> None:
    """Hadolint finds nothing to report in deploy/Dockerfile."""
    result = subprocess.run([str(BIN / "hadolint"), "--no-color", str(ROOT / "deploy" / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_is_valid(tmp_path: Path) -> None:
    """Docker Compose's own parser accepts deploy/compose.yaml with the example settings."""
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", deploy)
    (deploy / ".env").write_text((deploy / ".env.example").read_text())
    result = subprocess.run([str(BIN / "docker-compose"), "-f", str(deploy / "compose.yaml"), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_env_example_documents_every_setting() -> None:
    """Every variable the settings read is in deploy/.env.example, each with a comment above it."""
    source = (ROOT / "bot" / "config.py").read_text()
    import re

    read = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', source)) - {"HOME", "XDG_DATA_HOME", "INFO", "DEBUG", "WARNING",
                                                              "ERROR", "CRITICAL"}
    lines = (ROOT / "deploy" / ".env.example").read_text().splitlines()
    documented = {line.split("=", 1)[0]: n for n, line in enumerate(lines) if "=" in line and not line.startswith("#")}
    assert read <= set(documented), read - set(documented)
    for name, n in documented.items():
        assert lines[n - 1].startswith("#"), f"{name} has no comment"
