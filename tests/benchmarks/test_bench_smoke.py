"""The policy benchmark runs end to end at a tiny size and reports what it promises.

No timing target is asserted here: only the shape of the report and that the hub, Cedar and the
YAML loader agree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("bench_policies.py")
ROOT = SCRIPT.parents[2]

pytestmark = pytest.mark.slow


def test_quick_benchmark_reports_every_figure_and_no_disagreement(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "1000", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert json.loads(out.read_text(encoding="utf-8")) == report

    assert {"engine", "machine", "method", "mix", "sizes", "targets", "disagreements"} <= set(
        report
    )
    assert report["disagreements"] == 0
    # the machine's memory latency, measured with the C compiler that built the index
    reads = report["machine"]["random_read_ns"]
    assert {"4 MiB", "256 MiB"} <= set(reads), reads
    assert all(isinstance(ns, float) and ns > 0 for ns in reads.values()), reads
    (size,) = report["sizes"]
    assert size["agreements"] == 1000
    assert size["libraries"] >= 2000
    assert set(size["kinds"]) == {"bilateral", "consortium", "suspension"}
    # the requests reach every kind of outcome, and each is timed
    outcomes = {"eligible", "fails_standing", "no_agreement", "suspended", "refused_outright"}
    assert set(size["requests_by_outcome"]) == outcomes
    assert set(size["hub_us_by_outcome_median"]) == outcomes
    for key in (
        "hub_us_per_decision_median",
        "hub_build_s",
        "hub_build_rss_delta_mb",
        "cedar_over_hub",
        "cedar_call_only_over_hub",
    ):
        assert isinstance(size[key], int | float), key
    assert size["hub_us_per_decision_median"] > 0

    runs = [size["cedar"], *size["cedar_controls"]]
    assert [r["feeding"] for r in runs] == ["all", "per-pair"]
    for cedar in runs:
        assert cedar["requests"] > 0
        assert cedar["authorization_requests"] > 0
        assert cedar["us_per_decision_median"] > 0
        assert cedar["entities_parse_s"] >= 0
        assert cedar["disagreements"] == 0
    assert size["cedar"]["entities"] == 1000
    assert size["disagreements"] == 0

    loaded = size["yaml_load"]
    assert loaded["agreements"] == 1000
    assert loaded["load_s"] > 0
    assert loaded["decisions_differing_from_model_built_set"] == 0
    # a target is reported with what was measured, whether or not it was met
    assert {"measured", "target", "met"} <= set(report["targets"]["hub_faster_than_cedar"])
