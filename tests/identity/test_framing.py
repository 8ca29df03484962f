"""No response of the hub can be framed by another site (``identity.web.framing``): pages keep
their own Content-Security-Policy with ``frame-ancestors 'none'`` added, everything else gets
that directive alone, and all get ``X-Frame-Options: DENY``."""

from __future__ import annotations

from fastapi.testclient import TestClient

from identity.app import create_app
from identity.settings import Settings
from tests.conftest import SECRET


def test_every_response_refuses_to_be_framed(database_url: str, engine: object) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET)
    app = create_app(settings)

    @app.get("/fails")
    def fails() -> None:
        raise RuntimeError("a route's bug, answered by the last-resort 500")

    with TestClient(app, raise_server_exceptions=False) as client:
        answers = {
            path: client.get(path)
            for path in (
                "/docs",
                "/redoc",
                "/openapi.json",
                "/problems/no-such-problem",
                "/problems/unknown-card",
                "/no/such/page",
                "/static/hub.css",
                "/healthz",
                "/admin/login",
            )
        }
        answers["POST /token"] = client.post("/token", data={"grant_type": "password"})
        answers["/fails"] = client.get("/fails")
    for what, answer in answers.items():
        assert answer.headers["x-frame-options"] == "DENY", what
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy.split("; "), (what, policy)
    assert (
        answers["/docs"].status_code == 200
        and answers["/problems/no-such-problem"].status_code == 404
    )
    page = answers["/admin/login"].headers["content-security-policy"]
    assert page.startswith("default-src 'none'") and page.count("frame-ancestors") == 1
