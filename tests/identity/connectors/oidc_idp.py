"""A university's OpenID provider for the tests: node ``oidc-provider`` (npm; nobody here wrote
it), run by ``node_idp/university.mjs`` with the hub as its one client.

The package is installed once per machine, from ``node_idp/package-lock.json`` (``npm ci``,
its hashes checked), into a cache outside the repository (``~/.cache/hub-tests``, or under
``$XDG_CACHE_HOME``), and again only when the lock changes. Without ``node`` and ``npm`` the
tests that need the provider skip, saying why, unless ``HUB_REQUIRE_NODE=1`` (set by
``.ci/run``, which installs them), which makes that a failure.

The provider signs in at once, with no page, the user its authorization request names in
``login_hint`` (``through``); without one it asks for a username on a plain form (a browser
test fills it in). A name it does not know is a patron who cancelled (``access_denied``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
import pytest
from joserfc.jwk import RSAKey

import policies
from identity.agreements import publishing
from identity.store.database import transaction
from tests.conftest import issuer_of
from tests.identity.oauth.browser import Browser, forms
from tests.identity.oauth.conftest import LiveHub

HERE = Path(__file__).with_name("node_idp")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hub-tests"
CLIENT_ID = "hub-test-client"
SECRET_ENV = "HUB_TEST_UNI_OIDC_SECRET"
SECRET = "a-client-secret-the-university-gave-the-hub"
UNIVERSITY = "University of Testing Library"
#: the university's users: their claims, as the provider releases them
USERS: dict[str, dict[str, Any]] = {
    "alice": {
        "name": "Alice Student",
        "eduperson_scoped_affiliation": ["member@uni.example", "student@uni.example"],
    },
    "sam": {"name": "Sam Staff", "eduperson_scoped_affiliation": ["staff@uni.example"]},
    "gus": {"name": "Gus Guest", "eduperson_scoped_affiliation": ["affiliate@uni.example"]},
}


def installed() -> Path:
    """The ``oidc-provider`` package's entry module, installed from the lock if need be."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "node and npm are not installed (apt-get install nodejs npm)"
        if os.environ.get("HUB_REQUIRE_NODE") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    package, lock = (HERE / "package.json").read_bytes(), (HERE / "package-lock.json").read_bytes()
    where = CACHE / "node-oidc-provider"
    stamp = where / f".installed-{hashlib.sha256(package + lock).hexdigest()[:16]}"
    entry = where / "node_modules" / "oidc-provider" / "lib" / "index.js"
    where.mkdir(parents=True, exist_ok=True)
    with (where / ".lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # one pytest worker installs; the others wait
        if not stamp.exists():
            for old in where.glob(".installed-*"):
                old.unlink()
            (where / "package.json").write_bytes(package)
            (where / "package-lock.json").write_bytes(lock)
            subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                cwd=where,
                check=True,
                capture_output=True,
                timeout=600,
            )
            stamp.touch()
    return entry


@dataclass
class University:
    """The running provider."""

    issuer: str
    client_id: str
    process: subprocess.Popen[str]

    def through(self, authorization_url: str, user: str, http: httpx.Client) -> httpx.Response:
        """Follow the hub's redirect to the provider as ``user``, through the provider's own
        redirects, to its answer: the redirect back to the hub (not followed)."""
        url = f"{authorization_url}&{urlencode({'login_hint': user})}"
        for _ in range(10):
            answer = http.get(url)
            location = urljoin(url, answer.headers.get("location", ""))
            if answer.status_code not in (302, 303) or not location.startswith(self.issuer):
                return answer  # the answer to the hub (or a page of the provider's)
            url = location
        raise AssertionError("the provider kept redirecting")


@contextlib.contextmanager
def running(hub_issuer: str, work: Path) -> Iterator[University]:
    """The provider, with the hub (at ``hub_issuer``) as its client, until the block ends."""
    entry = installed()
    key = RSAKey.generate_key(2048, parameters={"kid": "uni-1", "use": "sig"}, private=True)
    config = {
        "module": str(entry),
        "client": {
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "redirect_uris": [f"{hub_issuer}/oidc/callback"],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        },
        "keys": [key.as_dict(private=True)],
        "users": USERS,
    }
    path = work / "university.json"
    path.write_text(json.dumps(config))
    log = work / "university.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            ["node", str(HERE / "university.mjs"), str(path)],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        assert process.stdout is not None
        issuer = process.stdout.readline().strip()  # printed once it listens
        assert issuer.startswith("http://127.0.0.1:"), log.read_text()
        yield University(issuer, CLIENT_ID, process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="session")
def university(
    live_socket: socket.socket, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[University]:
    """The university's OpenID provider, one per worker, with the worker's live hub as its
    client."""
    with running(issuer_of(live_socket), tmp_path_factory.mktemp("university")) as up:
        yield up


# --- the hub's side ---------------------------------------------------------------------------


def publish_university(live_hub: LiveHub, tmp_path: Path, issuer: str, extra: str = "") -> None:
    """The example network, with a university library whose provider is at ``issuer`` and an
    agreement by which Monash lends to its students and staff."""
    examples = Path(policies.__file__).parent / "examples"
    entry = tmp_path / "uni.yaml"
    entry.write_text(
        "libraries:\n"
        "  - id: uni\n"
        f"    name: {UNIVERSITY}\n"
        "    categories: {student@uni.example: undergraduate, staff@uni.example: staff}\n"
        f"    connector: {{kind: oidc, issuer: '{issuer}', client_id: hub-test-client,\n"
        f"                client_secret_env: {SECRET_ENV}, timeout_s: 2,\n"
        f"                scopes: [openid, profile, affiliation]{extra}}}\n"
        "agreements:\n"
        "  - id: monash-uni\n"
        "    name: Monash lends to the University\n"
        "    kind: bilateral\n"
        "    lender: monash\n"
        "    borrowers_from: [uni]\n"
        "    categories: [undergraduate, staff]\n"
        "    terms: {max_items: 5, loan_days: 21}\n"
    )
    sources = [*policies.read(examples), (str(entry), entry.read_text())]
    with transaction(live_hub.engine) as session:
        publishing.publish(session=session, sources=sources, actor="test", note="uni")


def leave_for(browser: Browser, login: httpx.Response, library: str) -> httpx.Response:
    """Choose ``library`` among those that sign their patrons in themselves."""
    [own] = [f for f in forms(login.text) if ("library", library) in f.buttons]
    return browser.http.post(urljoin(str(login.url), own.action), data={**own.fields,
                             "library": library})  # fmt: skip
