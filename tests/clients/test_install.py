"""The SDK is a package of its own: it builds, installs and runs in a fresh virtual environment
that has none of the hub's dependencies (httpx and python-jose come from PyPI). The installer is
uv, the one ``make`` installs the hub's environment with: it builds the SDK's wheel in isolation
from ``[build-system]`` and resolves its dependencies from their metadata, as pip does, in a
tenth of pip's time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLIENTS = Path(__file__).resolve().parents[2] / "clients"
UV = str(Path(sys.executable).with_name("uv"))  # beside the interpreter running the tests
SERVER_ONLY = ["fastapi", "sqlmodel", "authlib", "joserfc", "starlette", "uvicorn", "pydantic"]

pytestmark = pytest.mark.slow


def test_the_sdk_installs_and_imports_without_the_hub(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*args: str) -> str:
        done = subprocess.run(
            args, cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300
        )
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done.stdout

    base = getattr(sys, "_base_executable", sys.executable)
    run(UV, "venv", "--quiet", "--python", base, str(venv))
    # built afresh: uv would otherwise reuse the wheel it built for an unchanged pyproject.toml
    run(UV, "pip", "install", "--quiet", "--refresh-package", "hub-client", "--python", python,
        str(CLIENTS))  # fmt: skip

    listed = json.loads(run(UV, "pip", "list", "--python", python, "--format=json"))
    installed = {p["name"].lower().replace("_", "-") for p in listed}
    assert {"hub-client", "httpx", "python-jose"} <= installed
    assert installed.isdisjoint(SERVER_ONLY), installed & set(SERVER_ONLY)

    run(python, "-c", f"""
import sys, pathlib
import hub_client
from hub_client import HubClient, AsyncHubClient, RelyingParty, verify_id_token
loaded = {{m.split('.')[0] for m in sys.modules}}
assert loaded.isdisjoint({SERVER_ONLY + ["identity", "policies"]!r}), loaded
assert (pathlib.Path(hub_client.__file__).parent / 'py.typed').exists()
assert 'site-packages' in hub_client.__file__, hub_client.__file__
""")  # fmt: skip
    assert "check" in run(str(venv / "bin" / "hub-client"), "--help")
    assert "--client-secret-env" in run(str(venv / "bin" / "hub-client"), "check", "--help")
