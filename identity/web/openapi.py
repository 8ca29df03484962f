"""What the OpenAPI document says of every operation, beyond what each route declares: a body
larger than the hub accepts is a 413, and the hub without its database a 503 with Retry-After,
in the operation's own error format (OAuth's for the OAuth endpoints, RFC 9457 for the rest)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from identity.web.problems import MEDIA_TYPE, ProblemOut

OAUTH_ERROR = {"$ref": "#/components/schemas/OAuthErrorOut"}
RETRY_AFTER = {"description": "seconds to wait before asking again", "schema": {"type": "integer"}}
TOO_LARGE = "The request body is larger than the hub accepts"
UNAVAILABLE = "The hub cannot reach its database; ask again later"


def install(app: FastAPI) -> None:
    build = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            complete(build())  # FastAPI keeps what it built as app.openapi_schema
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def complete(document: dict[str, Any]) -> None:
    """Declare the answers every operation may give."""
    problem = {MEDIA_TYPE: {"schema": ProblemOut.model_json_schema()}}
    for item in document["paths"].values():
        for operation in item.values():
            answers: dict[str, Any] = operation.setdefault("responses", {})
            oauth = any(_content_schema(a) == OAUTH_ERROR for a in answers.values())
            if "requestBody" in operation:
                answers.setdefault("413", {"description": TOO_LARGE, "content": problem})
            unavailable = answers.setdefault("503", {"description": UNAVAILABLE})
            if unavailable["description"] != UNAVAILABLE:
                unavailable["description"] += f"; {UNAVAILABLE}"
            if oauth:
                unavailable["content"] = {"application/json": {"schema": OAUTH_ERROR}}
            else:
                unavailable.setdefault("content", problem)
            unavailable.setdefault("headers", {})["Retry-After"] = RETRY_AFTER


def _content_schema(answer: dict[str, Any]) -> Any:
    return answer.get("content", {}).get("application/json", {}).get("schema")
