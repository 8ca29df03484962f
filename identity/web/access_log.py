"""What the access log keeps of a request: client, method, path, protocol and status, never the
query string. Query strings carry what must not sit in a log file: an ID token
(``/logout?id_token_hint=``), sign-in parameters (``/authorize``), an authorization code
(redirects back to a client), card numbers (``/admin/lookups?card=``). The filter is on
uvicorn's ``uvicorn.access`` logger, installed by ``create_app``, so it holds however uvicorn
is run and whatever handlers the operator's log configuration gives that logger."""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class WithoutQuery(logging.Filter):
    """Drops the query string from uvicorn's access records, whose arguments are (client,
    method, path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def install() -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, WithoutQuery) for f in logger.filters):
        logger.addFilter(WithoutQuery())
