"""The HTTP benchmark's measuring pieces, run for a second against its bare FastAPI peer: wrk's
figures come back, an answer that is not a success fails the measurement, a batch is checked
item by item, and every process started is gone afterwards.

No timing target is asserted here; ``make bench-http`` measures the hub itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.benchmarks.bare_eligibility import EXAMPLE
from tests.benchmarks.http_load import Side, measure, wrk_command
from tests.benchmarks.http_servers import Processes, start_bare

pytestmark = pytest.mark.slow

QUESTION = {"home_library": "rmit", "card": "21110000000001", "material": "book"}
HEADERS = {"Content-Type": "application/json", "Authorization": 'Bearer "quoted\\token'}


def test_wrk_figures_failed_answers_and_batches_are_reported(tmp_path: Path) -> None:
    processes = Processes(tmp_path)
    try:
        bare = start_bare(processes, workers=1, decision=EXAMPLE)
        wrk = wrk_command()

        def once(path: str, body: object, questions: int = 1) -> dict[str, Any]:
            side = Side("side", bare.url + path, json.dumps(body).encode(), HEADERS,
                        bare.process.pid, questions=questions)  # fmt: skip
            return measure(wrk, side, seconds=1, connections=4, threads=1, workdir=tmp_path)

        single = once("/api/v1/eligibility", QUESTION)
        assert single["errors"] == {}, single
        assert isinstance(single["requests"], int) and single["requests"] > 0
        for key in ("req_s", "p50_ms", "p99_ms", "server_cpu_ms_per_request"):
            assert isinstance(single[key], float) and single[key] > 0, (key, single)

        refused = once("/api/v1/eligibility", {"unknown": "field"})  # 422
        assert refused["errors"]["status_errors"] == refused["requests"] > 0, refused

        batch = once("/api/v1/eligibility/batch", {"requests": [QUESTION] * 3}, questions=3)
        assert batch["errors"] == {}
        assert batch["questions_s"] == pytest.approx(3 * batch["req_s"], rel=0.01)
        short = once("/api/v1/eligibility/batch", {"requests": [QUESTION] * 3}, questions=4)
        assert short["errors"]["wrong_answers"] == short["requests"] > 0, short
    finally:
        processes.close()
    with pytest.raises(ProcessLookupError):  # the supervisor and its worker alike
        os.killpg(bare.process.pid, 0)
    log = (tmp_path / "bare-fastapi.log").read_text()
    assert '"POST /api/v1/eligibility HTTP/1.1" 200' in log
