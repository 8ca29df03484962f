"""The lock files in this folder: written from pyproject.toml and clients/pyproject.toml by
``make lock``, and checked against them by ``make lint``.

Each lock pins every package, dependencies of dependencies included, to one version with the
sha256 hashes of its files on PyPI, resolved for CPython 3.11 on Linux x86_64, and to versions
that ship wheels (installs take wheels only: building one from source would fetch its build
requirements unpinned):

- ``dev.txt``: what ``make`` installs into ``.venv``: the hub's dependencies and its ``dev`` extra,
  the SDK's (``clients/``) dependencies, both projects' ``[build-system] requires`` (Cython
  compiles the decision index; the two projects are then installed editable without build
  isolation, with hatchling's ``editables``) and pip itself.
- ``runtime.txt``: the hub's dependencies only, for the Dockerfile's image.
- ``build.txt``: the hub's ``[build-system] requires``, for the Dockerfile's build stage.

runtime.txt and build.txt hold the versions dev.txt holds. Usage::

    python requirements/lock.py write [uv pip compile options, e.g. --upgrade]
    python requirements/lock.py check
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = ["--python-version", "3.11", "--python-platform", "x86_64-unknown-linux-gnu"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


@dataclass(frozen=True)
class Wanted:
    """A requirement a lock must satisfy, and where it is stated (for the message)."""

    requirement: Requirement
    source: str


@dataclass(frozen=True)
class Inputs:
    """What the locks are resolved from."""

    build: list[Wanted]  # the hub's [build-system] requires
    tools: list[Wanted]  # the SDK's [build-system] requires, pip, hatchling's editables
    runtime: list[Wanted]  # the hub's dependencies
    dev: list[Wanted]  # its dev extra and the SDK's dependencies

    def wanted(self) -> dict[str, list[Wanted]]:
        """What each lock must satisfy, by file name."""
        return {
            "dev.txt": self.build + self.tools + self.runtime + self.dev,
            "runtime.txt": self.runtime,
            "build.txt": self.build,
        }


def _listed(root: Path, project: str, *keys: str) -> list[Wanted]:
    with open(root / project / "pyproject.toml", "rb") as file:
        found: Any = tomllib.load(file)
    for key in keys:
        found = found[key]
    source = f"{project}/pyproject.toml {' '.join(keys)}".removeprefix("./")
    return [Wanted(Requirement(text), source) for text in found]


def inputs(root: Path) -> Inputs:
    # make installs both projects editable from the lock, without build isolation: hatchling
    # then asks for editables (its get_requires_for_build_editable)
    ours = [Wanted(Requirement(name), "requirements/lock.py") for name in ("pip", "editables")]
    return Inputs(
        build=_listed(root, ".", "build-system", "requires"),
        tools=_listed(root, "clients", "build-system", "requires") + ours,
        runtime=_listed(root, ".", "project", "dependencies"),
        dev=_listed(root, ".", "project", "optional-dependencies", "dev")
        + _listed(root, "clients", "project", "dependencies"),
    )


def pins(text: str) -> dict[str, str]:
    """A lock file's versions by canonical package name."""
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def problems(root: Path) -> list[str]:
    """Why the locks no longer match the pyproject.toml files (nothing when they do)."""
    found: list[str] = []
    locks: dict[str, dict[str, str]] = {}
    for name, needs in inputs(root).wanted().items():
        path = root / "requirements" / name
        if not path.exists():
            found.append(f"requirements/{name} is missing")
            continue
        locked = locks[name] = pins(path.read_text(encoding="utf-8"))
        for need in needs:
            requirement = need.requirement
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            package = canonicalize_name(requirement.name)
            version = locked.get(package)
            if version is None:
                found.append(f"requirements/{name} lacks {requirement} ({need.source})")
            elif not requirement.specifier.contains(version, prereleases=True):
                found.append(
                    f"requirements/{name} has {package}=={version}, "
                    f"which is not {requirement} ({need.source})"
                )
    for name in ("runtime.txt", "build.txt"):
        for key, version in locks.get(name, {}).items():
            other = locks.get("dev.txt", {}).get(key)
            if other is not None and other != version:
                found.append(
                    f"requirements/{name} has {key}=={version}, requirements/dev.txt {other}"
                )
    return found


def _compile(
    root: Path, stdin: list[str], sources: list[str], output: str, extra: list[str]
) -> None:
    # the venv's uv, pinned in dev.txt (the dev extra)
    uv = shutil.which("uv", path=Path(sys.executable).parent) or "uv"
    command = [
        *(uv, "pip", "compile", "--quiet", "--generate-hashes", "--only-binary", ":all:"),
        *("--custom-compile-command", "make lock"),
        *PLATFORM,
        *(["-"] if stdin else []),
        *sources,
        *("--output-file", f"requirements/{output}"),
        *extra,
    ]
    subprocess.run(command, cwd=root, input="\n".join(stdin) + "\n", text=True, check=True)


def write(root: Path, options: list[str]) -> None:
    """Resolves dev.txt (keeping the versions it has unless options upgrade them), then the other
    two within dev.txt's versions."""
    given = inputs(root)
    lines = sorted({str(w.requirement) for w in given.build + given.tools})
    sources = ["pyproject.toml", "clients/pyproject.toml", "--extra", "dev"]
    _compile(root, lines, sources, "dev.txt", options)
    within = ["--constraint", "requirements/dev.txt"]
    _compile(root, [], ["pyproject.toml"], "runtime.txt", within)
    _compile(root, [str(w.requirement) for w in given.build], [], "build.txt", within)


def main(argv: list[str]) -> int:
    if argv[:1] == ["write"]:
        write(ROOT, argv[1:])
        argv = ["check"]
    if argv == ["check"]:
        found = problems(ROOT)
        for problem in found:
            print(problem, file=sys.stderr)
        if found:
            print("the lock files do not match pyproject.toml: run `make lock`", file=sys.stderr)
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
