"""``policies`` imports and decides where no web framework or database library can be imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import date

    FORBIDDEN = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "authlib", "identity")

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in FORBIDDEN:
                raise ImportError(f"{name} is not installed here")
            return None

    sys.meta_path.insert(0, Refuse())
    import policies

    agreements = policies.load("policies/examples")
    decision = agreements.decide(policies.BorrowRequest(
        lender="monash", home_library="rmit", category="undergraduate", on=date(2026, 11, 22)))
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
    print(decision.eligible, decision.agreements, loaded)
    """
)


def test_policies_runs_without_web_framework_or_database() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True ('caval-2026',) []"


def test_the_blocker_really_blocks() -> None:
    """Guard for the test above: importing a refused package must fail in that interpreter."""
    script = SCRIPT.replace("import policies", "import policies\nimport identity")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "identity is not installed here" in result.stderr
