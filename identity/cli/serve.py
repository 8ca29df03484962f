"""``hub serve``: serve the configured database over HTTP with uvicorn.

It logs in ``HUB_LOG_FORMAT`` (JSON lines by default), its own lines and every worker's. The
workers write their metrics to files in ``PROMETHEUS_MULTIPROC_DIR``, so that ``/metrics`` sums
them whichever worker is asked: a directory made here and removed at exit, or the operator's,
emptied here first (``identity.metrics``)."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from identity.cli import context
from identity.settings import Settings, proxies
from identity.store.database import make_engine


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="The proxies trusted to give the client's address in X-Forwarded-For (and "
            "the scheme in X-Forwarded-Proto): comma-separated addresses or networks, or *. "
            "The sign-in guessing limits count by that address. Default: "
            "$HUB_FORWARDED_ALLOW_IPS, else none (the address connecting is the client's)."
        ),
    ] = None,
) -> None:
    """Serve the hub. The database is prepared once here, before any worker starts."""
    settings = context.settings()
    try:
        trusted = proxies(
            settings.forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--forwarded-allow-ips") from None
    with metrics_directory():  # before prometheus_client is imported, which reads it
        _serve(settings, host=host, port=port, workers=workers, trusted=trusted)


def _serve(settings: Settings, *, host: str, port: int, workers: int, trusted: list[str]) -> None:
    # the web application and uvicorn take about a second to import: only here, once the
    # settings have passed, not in every other hub command
    import uvicorn

    from identity import logs
    from identity.app import NotReady, prepare

    logs.configure(settings.log_format)
    try:
        engine = make_engine(settings)
        try:
            prepare(engine=engine, settings=settings)
        finally:
            engine.dispose()
    except (NotReady, ValueError) as exc:
        context.fail(f"Cannot serve: {exc}")
    except SQLAlchemyError as exc:
        context.fail(context.cannot_use(exc))
    uvicorn.run(
        "identity.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # uvicorn on its own trusts 127.0.0.1 (or $FORWARDED_ALLOW_IPS): only the named proxies
        proxy_headers=bool(trusted),
        forwarded_allow_ips=",".join(trusted) or None,
        log_config=None,  # logs.configure, here and in each worker
        access_log=False,  # identity.web.observe writes the access log
    )


@contextmanager
def metrics_directory() -> Iterator[Path]:
    """``PROMETHEUS_MULTIPROC_DIR`` for the workers: the operator's, emptied of the files a
    previous run left, or a new one removed at the end."""
    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if named:
        directory = Path(named)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield directory
        return
    directory = Path(tempfile.mkdtemp(prefix="hub-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    try:
        yield directory
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        shutil.rmtree(directory, ignore_errors=True)
