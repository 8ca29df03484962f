"""The load of the HTTP benchmark (``bench_http.py``): ``wrk`` with a generated Lua script that
sends one fixed request and reports its figures as JSON, and the server's CPU time around it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.benchmarks.http_servers import cpu_seconds

MARK = "BENCH-JSON "
#: the Lua script's end: wrk's summary, latency percentiles (µs) and the answers found wrong
DONE = r"""
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("bad") or 0) end
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"wrong_answers": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    MARK, summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read,
    e.write, e.timeout, bad, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""
#: a batch's answer is read: each of its items must be a decision (status 200)
BATCH_CHECK = r"""
function init(args) bad = 0 end
function response(status, headers, body)
  if status == 200 then
    local _, decisions = body:gsub('"status":200,', '')
    if decisions ~= EXPECTED then bad = bad + 1 end
  end
end
"""


@dataclass
class Side:
    """One side of a comparison: a fixed request to a server whose CPU time is counted."""

    name: str
    url: str
    body: bytes
    headers: dict[str, str]
    pid: int
    #: questions per request, for a batch (each answer is then checked item by item)
    questions: int = 1
    rounds: list[dict[str, Any]] = field(default_factory=list)


def lua_string(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    plain = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,:;/=+{}[]()"
    return '"' + "".join(chr(b) if b in plain else f"\\{b:03d}" for b in raw) + '"'


def lua_script(side: Side) -> str:
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {lua_string(side.body)}",
        *(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in side.headers.items()),
        f"MARK = {lua_string(MARK)}",
        f"EXPECTED = {side.questions}",
        "threads = {}",
        "function setup(thread) table.insert(threads, thread) end",
    ]
    if side.questions > 1:
        lines.append(BATCH_CHECK)
    return "\n".join(lines) + "\n" + DONE


def wrk_command() -> str:
    """Debian's ``wrk``, installed with apt-get if it is missing and that is possible."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is not None:
        for step in (["install", "-y", "wrk"], ["update", "-qq"], ["install", "-y", "wrk"]):
            subprocess.run(
                [apt, *step], check=False, capture_output=True, timeout=600,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )  # fmt: skip
            if found := shutil.which("wrk"):
                break
    if not found:
        raise RuntimeError(
            "wrk is not installed and `apt-get install -y wrk` did not install it: "
            "install Debian's wrk (or build it from https://github.com/wg/wrk) and run again"
        )
    return found


def wrk_version(wrk: str) -> str:
    run = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return (run.stdout + run.stderr).splitlines()[0].split("Copyright")[0].strip()


def measure(
    wrk: str, side: Side, *, seconds: float, connections: int, threads: int, workdir: Path
) -> dict[str, Any]:
    """One run of ``wrk`` against ``side``: requests per second, latency, errors, and the CPU
    time the server spent per request."""
    script = workdir / f"{side.name}.lua"
    script.write_text(lua_script(side), encoding="utf-8")
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    argv += ["--timeout", "10s", "-s", str(script), side.url]
    before = cpu_seconds(side.pid)
    run = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=seconds + 60)
    cpu = cpu_seconds(side.pid) - before
    found = [line for line in run.stdout.splitlines() if line.startswith(MARK)]
    if run.returncode != 0 or not found:
        raise RuntimeError(f"wrk against {side.name} failed: {run.stderr}{run.stdout}")
    raw: dict[str, Any] = json.loads(found[-1][len(MARK) :])
    requests = raw["requests"]
    rate = requests / (raw["duration_us"] / 1e6)
    counted = ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    errors = {key: raw[key] for key in (*counted, "wrong_answers") if raw[key]}
    if not requests:
        errors["no_answer"] = 1
    result = {
        "requests": requests,
        "req_s": round(rate, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "server_cpu_ms_per_request": round(cpu * 1000 / requests, 3) if requests else None,
        "errors": errors,
    }
    if side.questions > 1:
        result["questions_s"] = round(rate * side.questions, 1)
    return result
