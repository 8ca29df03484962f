"""``hub serve`` with two workers, watched as an operator watches it: every log line is JSON
with the request's id, sign-ins are logged and counted without the card, the PIN or whose they
are, and ``/metrics`` sums both workers' counts, for loopback or the token only."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine

from identity import demo
from identity.oauth import registration
from identity.store.database import transaction
from tests.conftest import HUB, SECRET, TLS, free_port
from tests.identity.oauth.browser import Browser
from tests.identity.oauth.conftest import GOOD
from tests.identity.oauth.relying_party import RelyingParty

TOKEN = "a-metrics-token-that-is-long-enough-0123456789"
HEALTH_CHECKS = 40


def started(log: Path, process: subprocess.Popen[bytes], workers: int) -> None:
    deadline = time.monotonic() + 90
    while log.read_text().count("Application startup complete") < workers:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def healthz_counts(directory: Path, scratch: Path) -> dict[str, float]:
    """How many ``GET /healthz`` each worker counted, read from its own file."""
    counts = {}
    for each in directory.glob("histogram_*.db"):
        alone = scratch / each.stem
        alone.mkdir(parents=True)
        shutil.copy(each, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        counts[each.stem] = sum(
            sample.value
            for metric in registry.collect()
            for sample in metric.samples
            if sample.name == "hub_http_request_duration_seconds_count"
            and sample.labels["route"] == "/healthz"
        )
    return counts


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    found = re.search(rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    assert found, f"{name}{{{wanted}}} not in\n{text}"
    return float(found[1])


def test_two_workers_log_json_and_share_their_metrics(
    demo_network: Engine, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with transaction(demo_network) as session:
        rp = registration.add_client(
            session=session, library="monash", kind="rp", redirect_uris=[f"{url}/cb"], actor="t"
        )
    directory, log = tmp_path / "metrics", tmp_path / "hub.log"
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_ISSUER": url,
        "HUB_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [HUB, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        started(log, process, workers=2)
        party = RelyingParty(url, rp.client_id, rp.client_secret, f"{url}/cb")
        browser = Browser(url)
        login = browser.get(party.authorization_url())
        wrong = browser.submit(login, {"card": GOOD, "pin": "9999"})
        assert "do not match" in wrong.text
        back = browser.sign_in(party.authorization_url(), card=GOOD, pin=GOOD[-4:])
        code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        tokens = party.exchange(back.headers["location"])
        payload = tokens["id_token"].split(".")[1]
        sub = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
        partner = httpx.post(
            f"{url}/token",
            data={"grant_type": "client_credentials"},
            auth=("demo-monash-partner", demo.client_secret("monash", "partner")),
        ).json()["access_token"]
        asked = httpx.post(
            f"{url}/api/v1/eligibility",
            json={"home_library": "rmit", "card": GOOD, "material": "book"},
            headers={"Authorization": f"Bearer {partner}", "X-Request-ID": "lender-42"},
        )
        assert asked.status_code == 200 and asked.headers["x-request-id"] == "lender-42"
        before = sum(healthz_counts(directory, tmp_path / "before").values())
        with ThreadPoolExecutor(8) as pool:  # new connections, spread over both workers
            statuses = list(pool.map(lambda _: httpx.get(f"{url}/healthz", verify=TLS).status_code,
                                     range(HEALTH_CHECKS)))  # fmt: skip
        assert statuses == [200] * HEALTH_CHECKS
        scraped = httpx.get(f"{url}/metrics")
        forwarded = {"X-Forwarded-For": "203.0.113.5"}
        assert httpx.get(f"{url}/metrics", headers=forwarded).status_code == 403
        with_token = {**forwarded, "Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{url}/metrics", headers=with_token).status_code == 200
        per_worker = healthz_counts(directory, tmp_path / "after")
    finally:
        if "browser" in locals():
            browser.http.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    assert scraped.status_code == 200, scraped.text
    text = scraped.text
    assert len(per_worker) == 2 and all(n > 0 for n in per_worker.values()), per_worker
    total = metric(text, "hub_http_request_duration_seconds_count",
                   method="GET", route="/healthz", status="200")  # fmt: skip
    assert total == sum(per_worker.values()) == before + HEALTH_CHECKS
    assert metric(text, "hub_sign_ins_total", home_library="rmit", outcome="wrong") == 1
    assert metric(text, "hub_sign_ins_total", home_library="rmit", outcome="signed_in") == 1
    assert metric(text, "hub_eligibility_answers_total", outcome="eligible") == 1
    calls = metric(text, "hub_connector_call_duration_seconds_count", library="rmit", outcome="ok")
    assert calls == 2
    assert metric(text, "hub_database_connections", state="idle") >= 0
    posts = re.findall(r'^hub_http_request_duration_seconds_count\{method="POST",'
                       r'route="/authorize",status="(\d+)"\} (\S+)$', text, re.M)  # fmt: skip
    assert sum(float(n) for _, n in posts) == 3 and ("302", "1.0") in posts, posts

    written = log.read_text()
    lines = [json.loads(line) for line in written.splitlines()]  # every line is JSON
    sign_ins = [(e["outcome"], e["home_library"], e["lender"]) for e in lines
                if e["event"] == "sign-in"]  # fmt: skip
    assert sign_ins == [("wrong", "rmit", "monash"), ("signed_in", "rmit", "monash")]
    requests = [e for e in lines if e["event"] == "request"]
    assert all(e["request_id"] and e["timestamp"] and e["duration_ms"] >= 0 for e in requests)
    assert {"lender-42"} == {
        e["request_id"] for e in requests if e["route"] == "/api/v1/eligibility"
    }
    for secret in (GOOD, sub, code, tokens["access_token"], tokens["refresh_token"], partner,
                   "Avery", '"pin"', '"0001"', '"9999"'):  # fmt: skip
        assert secret not in written, secret
