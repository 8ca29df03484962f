"""``hub serve`` in a process of its own, on a free port, for tests that time a live hub: it
shares no interpreter lock with the test's clients or its ILS."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import HUB, SECRET, wait_for_health


@contextlib.contextmanager
def serving(database_url: str, port: int, log: Path, **env: str) -> Iterator[str]:
    """The issuer URL of ``hub serve`` on ``database_url`` and ``port``, with ``env`` added to
    its environment (its output in ``log``), until the block ends."""
    issuer = f"http://127.0.0.1:{port}"
    variables = {"HUB_DATABASE_URL": database_url, "HUB_SECRET_KEY": SECRET, "HUB_ISSUER": issuer}
    with log.open("w") as output:
        server = subprocess.Popen(
            [HUB, "serve", "--port", str(port)],
            env={**os.environ, **variables, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for_health(server, port, within_s=60)
            yield issuer
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
