"""Published agreement versions: a unified diff of two, and the export of one as a single YAML
file that ``hub agreements check`` (the same loader) accepts."""

from __future__ import annotations

import difflib
import re
from typing import Any

import yaml
from sqlmodel import Session, col, select

from identity.store.models import AgreementVersion
from policies import yamltext

#: strings written without quotes: they read back as the same string in YAML 1.1 and 1.2 alike
PLAIN = re.compile(r"[a-z][a-z0-9_.-]*")
WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


class ExportFailed(RuntimeError):
    """The export would not read back as the same set (a bug, never a silent change)."""


def newest_first(session: Session) -> list[AgreementVersion]:
    return list(session.exec(select(AgreementVersion).order_by(col(AgreementVersion.id).desc())))


def diff(old: AgreementVersion, new: AgreementVersion) -> str:
    """A unified diff of every file, by name: changed, added (from /dev/null) or removed."""
    before = {f["name"]: f["text"] for f in old.files}
    after = {f["name"]: f["text"] for f in new.files}
    names = [f["name"] for f in old.files] + [
        f["name"] for f in new.files if f["name"] not in before
    ]
    lines: list[str] = []
    for name in names:
        lines += difflib.unified_diff(
            before.get(name, "").splitlines(keepends=True),
            after.get(name, "").splitlines(keepends=True),
            fromfile=f"version-{old.id}/{name}" if name in before else "/dev/null",
            tofile=f"version-{new.id}/{name}" if name in after else "/dev/null",
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def export(version: AgreementVersion) -> str:
    """Every file of ``version`` merged into one: its ``libraries`` and ``agreements`` lists,
    in load order, and its ``network``. Comments and layout are not kept; the content is, and
    is checked to be."""
    merged: dict[str, Any] = {"libraries": [], "agreements": []}
    for file in version.files:
        data = yamltext.load(file["text"])
        if not isinstance(data, dict):  # an empty file: a valid set has nothing else
            continue
        for key in ("libraries", "agreements"):
            merged[key] += data.get(key) or []
        if data.get("network") is not None:  # a valid set has it in one file at most
            merged["network"] = data["network"]
    names = ", ".join(f["name"] for f in version.files)
    header = (
        f"# Agreement version {version.id}, exported from the hub: {_oneline(names)}\n"
        "# Check it with `hub agreements check FILE`.\n"
    )
    text = header + yaml.dump(
        merged,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=None,
    )
    if yamltext.load(text) != merged:
        raise ExportFailed(f"version {version.id} would not read back the same")
    return text


def _oneline(text: str) -> str:
    return " ".join(text.split())


class _Dumper(yaml.SafeDumper):
    """Quotes every string that is not plainly an identifier, so that no value changes type
    between YAML 1.1 (PyYAML) and 1.2 (the loader's ``yaml_rs``): ``"Y"``, ``"1e3"``, ``"no"``."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    plain = PLAIN.fullmatch(value) is not None and value not in WORDS
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if plain else '"')


_Dumper.add_representer(str, _string)
