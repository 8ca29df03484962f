"""The servers of the HTTP benchmark (``bench_http.py``): the hub (``hub serve``) on a fresh
database, the bare FastAPI peer, and node ``oidc-provider``, each a process in a session of its
own on a free port, all stopped when the benchmark ends, however it ends."""

from __future__ import annotations

import csv
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import make_url, text

from identity.security import passwords
from identity.settings import Settings
from identity.store.database import database_url as database_url_for
from identity.store.database import make_engine

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
#: an RP's redirect URI: the benchmark reads the hub's redirect and never follows it
REDIRECT_URI = "http://127.0.0.1/bench/callback"
SECRET = "the-http-benchmark-secret-key-0123456789abcdefghijklmnop"
#: questions per client allowed: high enough that the benchmark never meets the limit
RATE = "1000000000/60"
OIDC_PROVIDER = "oidc-provider@9"
RESOURCE = "urn:hub-bench:eligibility"
PR_SET_PDEATHSIG = 1
#: what uvicorn logs as each worker is ready
STARTED = "Application startup complete."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def python_env(**extra: str) -> dict[str, str]:
    """The environment for a Python child: this checkout first on the path."""
    paths = [str(ROOT), str(ROOT / "clients"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), **extra}


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


class Processes:
    """The processes the benchmark started, each the leader of a process group of its own (a
    uvicorn supervisor and its workers); ``close`` stops every group, at the latest on exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[Server] = []
        self._files: list[IO[bytes]] = []

    def start(
        self, name: str, argv: list[str], url: str, *, env: dict[str, str], ready: str = "/",
        workers: int = 0,
    ) -> Server:  # fmt: skip
        """Start ``argv`` and wait until ``ready`` answers (and, for uvicorn, until each of its
        ``workers`` has started its application)."""
        log = self.logs / f"{name}.log"
        output = log.open("wb")
        self._files.append(output)
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
        server = Server(name, url, process, log)
        self.running.append(server)
        wait_until_answering(server, ready)
        wait_for_workers(server, workers)
        return server

    def stop(self, server: Server) -> None:
        if server.process.poll() is None:
            _signal_group(server.process.pid, signal.SIGTERM)
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(server.process.pid, signal.SIGKILL)
                server.process.wait(timeout=10)
        # workers left behind by a supervisor that died first
        _signal_group(server.process.pid, signal.SIGKILL)
        if server in self.running:
            self.running.remove(server)

    def close(self) -> None:
        for server in reversed(list(self.running)):
            self.stop(server)
        for output in self._files:
            output.close()


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM if the benchmark dies without stopping it (SIGKILL)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until_answering(server: Server, path: str, within_s: float = 120) -> None:
    deadline = time.monotonic() + within_s
    while True:
        try:
            httpx.get(server.url + path, timeout=2)
            return
        except httpx.TransportError:
            pass
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{tail(server.log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{server.name} did not answer within {within_s} s:\n{tail(server.log)}"
            )
        time.sleep(0.2)


def wait_for_workers(server: Server, workers: int, within_s: float = 120) -> None:
    deadline = time.monotonic() + within_s
    while server.log.read_text(errors="replace").count(STARTED) < workers:
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{server.name}: its workers did not start:\n{tail(server.log)}")
        time.sleep(0.2)


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def cpu_seconds(root: int) -> float:
    """User and system CPU time of the process ``root`` and its descendants that are alive."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


# --- the hub ---------------------------------------------------------------------------------


def patrons_csv(path: Path, count: int) -> list[str]:
    """``count`` rmit undergraduates in good standing; returns their cards. They share the
    first card's PIN (its last four digits), as one argon2id hash imported like an ILS's
    export, so that importing them hashes once."""
    cards = [f"2111{n:010d}" for n in range(1, count + 1)]
    digest = passwords.hash_secret(cards[0][-4:])
    expires = (date.today() + timedelta(days=365)).isoformat()
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["card", "pin_hash", "name", "category", "expires", "fines", "flags"])
        for n, card in enumerate(cards, start=1):
            writer.writerow([card, digest, f"Patron {n}", "UG", expires, "0", ""])
    return cards


def fresh_postgres(url: str) -> str:
    """A new empty database beside the one ``url`` names (``<name>_bench_http``)."""
    parsed = make_url(database_url_for(url))
    name = f"{parsed.database}_bench_http"
    admin = make_engine(Settings(database_url=url))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop_postgres(admin_url: str, url: str) -> None:
    admin = make_engine(Settings(database_url=admin_url))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            name = make_url(url).database
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def database_version(url: str) -> str:
    engine = make_engine(Settings(database_url=url))
    try:
        with engine.connect() as connection:
            postgres = url.startswith("postgres")
            query = "SHOW server_version" if postgres else "SELECT sqlite_version()"
            return str(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def hub_env(database_url: str, issuer: str) -> dict[str, str]:
    return python_env(
        HUB_DATABASE_URL=database_url,
        HUB_ISSUER=issuer,
        HUB_SECRET_KEY=SECRET,
        HUB_ELIGIBILITY_RATE=RATE,
    )


def prepare_hub(database_url: str, patrons: Path) -> dict[str, Any]:
    """Publish the example agreements, import the patrons, register the clients (as
    ``http_setup.py`` does with the ``hub`` commands); the clients' ids and secrets."""
    run = subprocess.run(
        [sys.executable, str(HERE / "http_setup.py"), str(patrons), REDIRECT_URI],
        cwd=ROOT, env=hub_env(database_url, "http://127.0.0.1"), capture_output=True,
        text=True, check=False, timeout=600,
    )  # fmt: skip
    if run.returncode != 0:
        raise RuntimeError(f"preparing {database_url}: {run.stderr}{run.stdout}")
    made: dict[str, Any] = json.loads(run.stdout.splitlines()[-1])
    return made


def start_hub(processes: Processes, name: str, database_url: str, workers: int) -> Server:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-c", "from identity.cli import main; main()"]
    argv += ["serve", "--port", str(port), "--workers", str(workers)]
    env = hub_env(database_url, issuer)
    return processes.start(name, argv, issuer, env=env, ready="/healthz", workers=workers)


def start_bare(processes: Processes, workers: int, decision: dict[str, Any]) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "tests.benchmarks.bare_eligibility:app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    env = python_env(BENCH_DECISION=json.dumps(decision))
    url = f"http://127.0.0.1:{port}"
    return processes.start("bare-fastapi", argv, url, env=env, ready="/docs", workers=workers)


# --- node oidc-provider ----------------------------------------------------------------------

PROVIDER_JS = """
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.BENCH_PORT);
const issuer = `http://127.0.0.1:${port}`;
const resource = process.env.BENCH_RESOURCE;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.BENCH_CLIENT_ID,
    client_secret: process.env.BENCH_CLIENT_SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'eligibility',
  }],
  jwks: { keys: [key] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['eligibility'],
  ttl: { ClientCredentials: 3600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: 'eligibility',
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
"""


def node_cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "hub-bench" / "oidc-provider"


def install_oidc_provider(cache: Path) -> str:
    """``oidc-provider`` 9 in ``cache`` (installed from npm the first time); its version."""
    manifest = cache / "node_modules" / "oidc-provider" / "package.json"
    if not manifest.exists() or not _version(manifest).startswith("9."):
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed: node oidc-provider cannot be set up")
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--omit=dev",
             OIDC_PROVIDER],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    return _version(manifest)


def _version(manifest: Path) -> str:
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


def start_oidc_provider(processes: Processes, cache: Path, client: tuple[str, str]) -> Server:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed: no oidc-provider peer")
    script = cache / "bench-peer.mjs"  # beside its node_modules, where the import finds it
    script.write_text(PROVIDER_JS, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "NODE_ENV": "production", "BENCH_PORT": str(port),
           "BENCH_RESOURCE": RESOURCE, "BENCH_CLIENT_ID": client[0],
           "BENCH_CLIENT_SECRET": client[1]}  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    ready = "/.well-known/openid-configuration"
    return processes.start("oidc-provider", [node, str(script)], url, env=env, ready=ready)
