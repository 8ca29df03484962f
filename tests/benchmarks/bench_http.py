"""Benchmark the hub's request path over HTTP against peers measured in the same run
(docs/benchmark.md, HTTP benchmark).

    .venv/bin/python tests/benchmarks/bench_http.py [--database-url URL] [--rounds 3]
        [--duration 10] [--scenarios eligibility-postgresql,...] [--out FILE]

The hub is served by ``hub serve --workers 2`` on PostgreSQL (a fresh database beside
``--database-url``) and then on SQLite (a temporary file), with the example agreements, 100
registry patrons of rmit, a partner client and a relying party of monash. Its peers: a bare
FastAPI app with the eligibility API's request and answer shapes (2 uvicorn workers), and node
``oidc-provider`` 9 (one process, in memory, RS256 JWT access tokens), installed from npm into
a cache directory. ``wrk`` (16 connections, 2 threads) measures each side of a pair in turn,
round after round, the order reversed every other round. Sign-in is measured with one patron at
a time, each followed by the PIN's argon2id hash alone. One JSON document goes to stdout (and to
``--out``); every target is reported as measured, met or not. Any answer that is not a success
(a 429 from the rate limit, a 503) fails its scenario, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.benchmarks import http_load, http_report, http_servers, http_sign_in
from tests.benchmarks.http_load import Side
from tests.benchmarks.http_servers import Processes, Server

SCENARIOS = (
    "eligibility-postgresql", "token-postgresql", "sign-in-postgresql",
    "eligibility-sqlite", "sign-in-sqlite",
)  # fmt: skip
#: the request path's targets: comparison and bound
TARGETS: dict[str, tuple[str, float]] = {
    "eligibility_postgresql_over_bare_fastapi": (">=", 0.33),
    "eligibility_sqlite_over_bare_fastapi": (">=", 0.25),
    "token_over_oidc_provider": (">=", 1.0),
    "sign_in_overhead_ms_postgresql": ("<=", 10.0),
    "sign_in_overhead_ms_sqlite": ("<=", 10.0),
    "batch_per_question_over_single_postgresql": (">=", 10.0),
    "batch_per_question_over_single_sqlite": (">=", 10.0),
}
P99_OVER_P50 = 5.0
HOME, BATCH = "rmit", 100


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per side a round")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per side, not counted")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--batch-connections",
        type=int,
        default=4,
        help="connections for the batch: at 16 a slow hub answers too few batches a round",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="of the hub and of bare FastAPI")
    parser.add_argument("--flows", type=int, default=40, help="sign-ins, one at a time")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    chosen = [s.strip().replace("_", "-") for s in args.scenarios.split(",") if s.strip()]
    if unknown := set(chosen) - set(SCENARIOS):
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    # Ctrl-C (even where a shell started it ignoring SIGINT) and SIGTERM unwind, so that every
    # server started is stopped
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        bench = Bench(args, chosen, Path(tmp))
        try:
            report = bench.run()
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        finally:
            bench.processes.close()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    for failure in report["failures"]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if report["failures"] else 0


class Bench:
    def __init__(self, args: argparse.Namespace, chosen: list[str], tmp: Path) -> None:
        self.args, self.chosen, self.tmp = args, chosen, tmp
        self.processes = Processes(tmp)
        self.wrk = http_load.wrk_command()
        self.bare: Server | None = None
        self.provider: Server | None = None
        self.scenarios: dict[str, Any] = {}
        self.failures: list[str] = []
        self.versions: dict[str, str] = {}

    def run(self) -> dict[str, Any]:
        started = datetime.now(UTC)
        load_before = http_report.load_average()
        commit = http_report.commit()  # what is measured: as the run starts
        patrons = self.tmp / "patrons.csv"
        self.cards = http_servers.patrons_csv(patrons, BATCH)
        if any(s.endswith("-postgresql") for s in self.chosen):
            url = http_servers.fresh_postgres(self.args.database_url)
            try:
                self.database("postgresql", url, patrons)
            finally:
                http_servers.drop_postgres(self.args.database_url, url)
        if any(s.endswith("-sqlite") for s in self.chosen):
            self.database("sqlite", f"sqlite:///{self.tmp / 'hub.db'}", patrons)
        return {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "date": started.isoformat(timespec="seconds"),
            "commit": commit,
            "machine": {
                **http_report.machine(),
                "load_average_before": load_before,
                "load_average_after": http_report.load_average(),
            },
            "versions": {**http_report.versions(), **self.versions},
            "settings": {
                "rounds": self.args.rounds,
                "duration_s": self.args.duration,
                "warmup_s": self.args.warmup,
                "connections": self.args.connections,
                "batch_connections": self.args.batch_connections,
                "wrk_threads": self.args.threads,
                "workers": self.args.workers,
                "sign_in_flows": self.args.flows,
                "batch_questions": BATCH,
            },
            "scenarios": self.scenarios,
            "targets": self.verdicts(),
            "failures": self.failures,
            "total_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        }

    def database(self, dialect: str, url: str, patrons: Path) -> None:
        log(f"{dialect}: preparing the database")
        made = http_servers.prepare_hub(url, patrons)
        self.versions[dialect] = http_servers.database_version(url)
        log(f"{dialect}: starting the hub")
        hub = http_servers.start_hub(self.processes, f"hub-{dialect}", url, self.args.workers)
        try:
            partner = made["partner"]["client_id"], made["partner"]["client_secret"]
            token = _token(hub.url, partner, {})
            single = _question(self.cards[0])
            decision = _probe(hub.url, token, single)
            batch = json.dumps({"requests": [json.loads(_question(c)) for c in self.cards]})
            _probe(hub.url, token, batch.encode(), batch=True)
            if f"eligibility-{dialect}" in self.chosen:
                self.eligibility(dialect, hub, token, single, batch.encode(), decision)
            if f"token-{dialect}" in self.chosen:
                self.token(dialect, hub, partner)
            if f"sign-in-{dialect}" in self.chosen:
                log(f"{dialect}: {self.args.flows} sign-ins")
                found = http_sign_in.measure(
                    hub.url, made["rp"], library=HOME, card=self.cards[0],
                    pin=self.cards[0][-4:], flows=self.args.flows,
                )  # fmt: skip
                self.scenarios[f"sign_in_{dialect}"] = found
        finally:
            self.processes.stop(hub)

    def eligibility(
        self, dialect: str, hub: Server, token: str, single: bytes, batch: bytes,
        decision: dict[str, Any],
    ) -> None:  # fmt: skip
        if self.bare is None:
            log("starting bare FastAPI")
            self.bare = http_servers.start_bare(self.processes, self.args.workers, decision)
            _probe(self.bare.url, "none", single)
        path = "/api/v1/eligibility"
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        sides = [
            Side(f"hub-{dialect}", hub.url + path, single, headers, hub.process.pid),
            Side("bare-fastapi", self.bare.url + path, single, headers, self.bare.process.pid),
            Side(
                f"hub-{dialect}-batch",
                f"{hub.url}{path}/batch",
                batch,
                headers,
                hub.process.pid,
                questions=BATCH,
            ),
        ]
        self.alternate(f"eligibility {dialect}", sides, [hub, self.bare, hub])
        mine, bare, batched = (http_report.summary(s) for s in sides)
        self.scenarios[f"eligibility_{dialect}"] = {
            "what": f"POST {path}, one registry patron by card; the batch: {BATCH} patrons",
            "hub": mine,
            "bare_fastapi": bare,
            "ratio_to_bare_fastapi": http_report.ratio(mine["req_s_median"], bare["req_s_median"]),
            "ratio_per_round": http_report.per_round(sides[0], sides[1]),
            "batch": batched,
            "batch_per_question_over_single": http_report.ratio(
                batched["questions_s_median"], mine["req_s_median"]
            ),
        }

    def token(self, dialect: str, hub: Server, partner: tuple[str, str]) -> None:
        cache = http_servers.node_cache()
        self.versions["oidc_provider"] = http_servers.install_oidc_provider(cache)
        if self.provider is None:
            log("starting node oidc-provider")
            self.provider = http_servers.start_oidc_provider(self.processes, cache, partner)
        resource = {"resource": http_servers.RESOURCE}
        _token(self.provider.url, partner, resource)
        body = "grant_type=client_credentials&scope=eligibility"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + base64.b64encode(":".join(partner).encode()).decode(),
        }
        sides = [
            Side(
                f"hub-{dialect}-token", hub.url + "/token", body.encode(), headers, hub.process.pid
            ),
            Side(
                "oidc-provider",
                self.provider.url + "/token",
                f"{body}&resource={http_servers.RESOURCE}".encode(),
                headers,
                self.provider.process.pid,
            ),
        ]
        self.alternate(f"token {dialect}", sides, [hub, self.provider])
        mine, peer = (http_report.summary(s) for s in sides)
        self.scenarios[f"token_{dialect}"] = {
            "what": "POST /token, grant_type=client_credentials, an RS256 JWT access token",
            "hub": mine,
            "oidc_provider": peer,
            "ratio_to_oidc_provider": http_report.ratio(mine["req_s_median"], peer["req_s_median"]),
            "ratio_per_round": http_report.per_round(sides[0], sides[1]),
        }

    def alternate(self, what: str, sides: list[Side], servers: list[Server]) -> None:
        """Each side in turn, ``--rounds`` times, the order reversed every other round, after
        one uncounted warm-up each."""
        a = self.args

        def once(side: Side, seconds: float) -> dict[str, Any]:
            connections = a.batch_connections if side.questions > 1 else a.connections
            return http_load.measure(
                self.wrk, side, seconds=seconds, connections=connections,
                threads=a.threads, workdir=self.tmp,
            )  # fmt: skip

        if a.warmup > 0:
            for side in sides:
                once(side, a.warmup)
        for number in range(a.rounds):
            order = list(zip(sides, servers, strict=True))
            for side, server in order if number % 2 == 0 else reversed(order):
                log(f"{what}: round {number + 1}/{a.rounds}, {side.name}")
                logged = server.log.stat().st_size
                found = once(side, a.duration)
                side.rounds.append(found)
                if found["errors"]:
                    answers = http_report.statuses(server.log, logged)
                    self.failures.append(
                        f"{what}, {side.name}, round {number + 1}: {found['errors']}; "
                        f"answers in the server's log meanwhile: {answers}"
                    )

    def verdicts(self) -> dict[str, Any]:
        s = self.scenarios
        measured: dict[str, float | None] = {}
        for dialect in ("postgresql", "sqlite"):
            if found := s.get(f"eligibility_{dialect}"):
                measured[f"eligibility_{dialect}_over_bare_fastapi"] = found[
                    "ratio_to_bare_fastapi"
                ]
                measured[f"batch_per_question_over_single_{dialect}"] = found[
                    "batch_per_question_over_single"
                ]
            if found := s.get(f"sign_in_{dialect}"):
                measured[f"sign_in_overhead_ms_{dialect}"] = found["overhead_ms"]
        if found := s.get("token_postgresql"):
            measured["token_over_oidc_provider"] = found["ratio_to_oidc_provider"]
        verdicts: dict[str, Any] = {}
        for name, (comparison, bound) in TARGETS.items():
            if name in measured:
                verdicts[name] = http_report.verdict(measured[name], comparison, bound)
        for key, found in s.items():  # at --connections: the batch has its own
            if "hub" in found:
                verdicts[f"p99_over_p50_{key}"] = http_report.verdict(
                    found["hub"]["p99_over_p50"], "<=", P99_OVER_P50
                )
        if self.failures:  # a figure taken with failed answers says nothing
            for verdict in verdicts.values():
                verdict["met"] = None
        return verdicts


def _question(card: str) -> bytes:
    return json.dumps({"home_library": HOME, "card": card, "material": "book"}).encode()


def _token(url: str, client: tuple[str, str], extra: dict[str, str]) -> str:
    form = {"grant_type": "client_credentials", "scope": "eligibility", **extra}
    answer = httpx.post(f"{url}/token", data=form, auth=client, timeout=30)
    if answer.status_code != 200:
        raise RuntimeError(f"{url}/token answered {answer.status_code}: {answer.text}")
    return str(answer.json()["access_token"])


def _probe(url: str, token: str, body: bytes, *, batch: bool = False) -> dict[str, Any]:
    """The answer to one question (or batch) before the load: it must be a success."""
    path = "/api/v1/eligibility/batch" if batch else "/api/v1/eligibility"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    answer = httpx.post(url + path, content=body, headers=headers, timeout=60)
    found: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
    items = found.get("results", []) if batch else [{"status": 200, "decision": found}]
    if answer.status_code != 200 or any(i["status"] != 200 for i in items):
        raise RuntimeError(f"{url}{path} answered {answer.status_code}: {answer.text[:500]}")
    if batch and len(items) != BATCH:
        raise RuntimeError(f"{url}{path}: {len(items)} answers to {BATCH} questions")
    return found


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
