"""The lock files (requirements/*.txt) that make and the Dockerfile install from: they hold every
requirement of both pyproject.toml files, and `make lint` names what they no longer satisfy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "requirements" / "lock.py"), "check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def copy(tmp_path: Path) -> Path:
    (tmp_path / "clients").mkdir()
    for name in ("pyproject.toml", "clients/pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    return tmp_path


def test_the_locks_satisfy_both_pyproject_files() -> None:
    done = check(ROOT)
    assert done.returncode == 0, done.stderr
    locked = (ROOT / "requirements" / "dev.txt").read_text()
    # the build requirements are locked too, as make installs without build isolation
    for name in ("hatchling", "cython", "setuptools", "editables", "pip", "uv", "python-jose"):
        assert f"\n{name}==" in locked, name


def test_every_pin_carries_hashes() -> None:
    for name in ("dev.txt", "runtime.txt", "build.txt"):
        lines = (ROOT / "requirements" / name).read_text().splitlines()
        pins = [n for n, line in enumerate(lines) if "==" in line and not line.startswith(" ")]
        assert pins, name
        for n in pins:
            assert lines[n + 1].startswith("    --hash=sha256:"), (name, lines[n])


def test_a_requirement_the_lock_does_not_satisfy_is_named(tmp_path: Path) -> None:
    root = copy(tmp_path)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    text = text.replace('"fastapi>=0.115",', '"fastapi>=999", "left-pad>=1.0",')
    text = text.replace('"cython>=3.0.11"', '"cython<3"')
    pyproject.write_text(text)
    sdk = root / "clients" / "pyproject.toml"
    sdk.write_text(sdk.read_text().replace('"httpx>=0.27",', '"httpx>=0.27", "requests>=99",'))

    done = check(root)

    assert done.returncode == 1
    problems = done.stderr.splitlines()
    locked = dict(
        line.split(" ")[0].split("==")
        for line in (root / "requirements" / "dev.txt").read_text().splitlines()
        if "==" in line and not line.startswith(" ")
    )
    fastapi, cython, requests = locked["fastapi"], locked["cython"], locked["requests"]
    assert problems == [
        f"requirements/dev.txt has cython=={cython}, which is not cython<3 "
        "(pyproject.toml build-system requires)",
        f"requirements/dev.txt has fastapi=={fastapi}, which is not fastapi>=999 "
        "(pyproject.toml project dependencies)",
        "requirements/dev.txt lacks left-pad>=1.0 (pyproject.toml project dependencies)",
        f"requirements/dev.txt has requests=={requests}, which is not requests>=99 "
        "(clients/pyproject.toml project dependencies)",
        f"requirements/runtime.txt has fastapi=={fastapi}, which is not fastapi>=999 "
        "(pyproject.toml project dependencies)",
        "requirements/runtime.txt lacks left-pad>=1.0 (pyproject.toml project dependencies)",
        f"requirements/build.txt has cython=={cython}, which is not cython<3 "
        "(pyproject.toml build-system requires)",
        "the lock files do not match pyproject.toml: run `make lock`",
    ]


def test_the_image_locks_hold_the_versions_of_the_dev_lock(tmp_path: Path) -> None:
    root = copy(tmp_path)
    runtime = root / "requirements" / "runtime.txt"
    runtime.write_text(runtime.read_text().replace("\nfastapi==", "\nfastapi==1"))
    (root / "requirements" / "build.txt").unlink()

    done = check(root)

    assert done.returncode == 1
    assert "requirements/build.txt is missing" in done.stderr
    assert "requirements/runtime.txt has fastapi==1" in done.stderr
    assert ", requirements/dev.txt " in done.stderr
