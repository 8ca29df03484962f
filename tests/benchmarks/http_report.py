"""The report of the HTTP benchmark (``bench_http.py``): each side's rounds summed up, the
ratios and verdicts, and what was measured on (the machine, the versions, the commit)."""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tests.benchmarks import http_load, http_servers
from tests.benchmarks.http_load import Side


def summary(side: Side) -> dict[str, Any]:
    rounds = side.rounds
    found: dict[str, Any] = {
        "req_s": [r["req_s"] for r in rounds],
        "req_s_median": statistics.median(r["req_s"] for r in rounds),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "p99_over_p50": round(
            statistics.median(r["p99_ms"] / r["p50_ms"] if r["p50_ms"] else 0 for r in rounds), 2
        ),
        "server_cpu_ms_per_request": statistics.median(
            r["server_cpu_ms_per_request"] or 0 for r in rounds
        ),
        "rounds": rounds,
    }
    if side.questions > 1:
        found["questions_s_median"] = statistics.median(r["questions_s"] for r in rounds)
        found["server_cpu_ms_per_question"] = round(
            found["server_cpu_ms_per_request"] / side.questions, 3
        )
    return found


def statuses(log_file: Path, offset: int) -> dict[str, int]:
    """How many answers of each status the server's access log shows from ``offset`` on:
    uvicorn's lines (the bare FastAPI peer), or the hub's JSON lines."""
    with log_file.open("rb") as read:
        read.seek(offset)
        text = read.read().decode(errors="replace")
    found = re.findall(r'HTTP/1\.1" (\d{3})|"status": (\d{3})', text)
    return dict(Counter(plain or hub for plain, hub in found))


def ratio(mine: float, peer: float) -> float | None:
    return round(mine / peer, 4) if peer else None


def per_round(mine: Side, peer: Side) -> list[float | None]:
    return [ratio(m["req_s"], p["req_s"]) for m, p in zip(mine.rounds, peer.rounds, strict=True)]


def verdict(measured: float | None, comparison: str, bound: float) -> dict[str, Any]:
    if measured is None:
        met = None
    else:
        met = measured >= bound if comparison == ">=" else measured <= bound
    return {"measured": measured, "target": f"{comparison} {bound:g}", "met": met}


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "memory_gb": round(int(memory.group(1)) / 2**20, 1) if memory else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions() -> dict[str, str]:
    names = ("fastapi", "starlette", "uvicorn", "pydantic", "uvloop", "httptools", "sqlalchemy")
    found = {name: version(name) for name in (*names, "psycopg")}
    node = shutil.which("node")
    if node is not None:
        run = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
        found["node"] = run.stdout.strip()
    found["wrk"] = http_load.wrk_version(http_load.wrk_command())
    return found


def commit() -> dict[str, Any]:
    root = http_servers.ROOT

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return run.stdout.strip()

    modified = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD") or None, "modified": bool(modified)}


def load_average() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
