"""``hub-client check``: a decision for people or as JSON; exit 0 eligible, 1 not, 2 error."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hub_client import HubClient, cli

from tests.clients.fakehub import CLIENT_ID, CLIENT_SECRET, ISSUER, FakeHub, decision_json, problem

ARGS = ["check", "--issuer", ISSUER, "--client-id", CLIENT_ID, "--home-library", "rmit"]
REFUSED = decision_json(
    eligible=False,
    terms=None,
    valid_until=None,
    reasons=[{"code": "fines_over_limit", "agreement": "caval-2026",
              "message": "Fines owed 25.50 exceed the limit 10.00 set by caval-2026",
              "advice": "You owe $25.50 to RMIT University Library. Pay there, then sign in "
                        "again."}],
)  # fmt: skip


@pytest.fixture(autouse=True)
def fake_hub(monkeypatch: pytest.MonkeyPatch, fake: FakeHub) -> FakeHub:
    def client(*args: Any, **kwargs: Any) -> HubClient:
        return HubClient(*args, http=fake.http(), sleep=lambda s: None, **kwargs)

    monkeypatch.setattr(cli, "HubClient", client)
    monkeypatch.setenv("PARTNER_SECRET", CLIENT_SECRET)
    return fake


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main([*ARGS, "--client-secret-env", "PARTNER_SECRET", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_an_eligible_patron_exits_0(capsys: pytest.CaptureFixture[str], fake: FakeHub) -> None:
    status, out, err = run(capsys, "--card", "21110000000001", "--on", "2026-11-22")
    assert status == 0 and err == ""
    assert out.splitlines() == [
        "ELIGIBLE: monash may lend to this rmit patron (undergraduate)",
        "  terms:       up to 3 items for 14 days, 1 renewal, 3 holds; excluded: reserve, av",
        "  under:       caval-2026",
        "  valid until: 2027-02-28",
        "  decided at:  2026-11-22T09:30:00+00:00",
    ]
    asked = json.loads(fake.calls("/api/v1/eligibility")[0].content)
    assert asked == {"home_library": "rmit", "card": "21110000000001", "on": "2026-11-22"}


def test_a_refusal_exits_1_with_its_reasons(
    capsys: pytest.CaptureFixture[str], fake: FakeHub
) -> None:
    fake.script.append(httpx.Response(200, json=REFUSED))
    status, out, _ = run(capsys, "--card", "21110000000004", "--material", "book")
    assert status == 1
    assert out.startswith("NOT ELIGIBLE: monash may not lend to this rmit patron (undergraduate)\n")
    assert (
        "  because:     fines_over_limit (caval-2026): "
        "Fines owed 25.50 exceed the limit 10.00 set by caval-2026"
    ) in out.splitlines()
    assert (
        "  tell them:   You owe $25.50 to RMIT University Library. Pay there, then sign in again."
    ) in out.splitlines()
    assert "  considered:  caval-2026" in out.splitlines()


def test_json_prints_the_decision_as_the_api_gives_it(
    capsys: pytest.CaptureFixture[str], fake: FakeHub
) -> None:
    fake.script.append(httpx.Response(200, json=REFUSED))
    status, out, _ = run(capsys, "--card", "21110000000004", "--json")
    assert status == 1 and json.loads(out) == REFUSED


def test_a_problem_exits_2(capsys: pytest.CaptureFixture[str], fake: FakeHub) -> None:
    fake.script.append(problem("unknown-library", 404, detail="No library 'rmit'"))
    status, out, err = run(capsys, "--card", "1", "--json")
    assert status == 2
    assert err == "hub-client: /problems/unknown-library: 404 unknown library: No library 'rmit'\n"
    assert json.loads(out)["type"] == "/problems/unknown-library"


def test_a_missing_secret_or_patron_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fake: FakeHub
) -> None:
    monkeypatch.delenv("PARTNER_SECRET")
    assert run(capsys, "--card", "1")[2] == (
        "hub-client: the environment variable PARTNER_SECRET is not set\n"
    )
    assert cli.main([*ARGS, "--client-secret", "x"]) == 2
    assert "--home-library and --card" in capsys.readouterr().err
    assert fake.requests == []


def test_wrong_credentials_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*ARGS, "--client-secret", "wrong", "--card", "1"]) == 2
    assert capsys.readouterr().err == "hub-client: TokenError: invalid_client\n"


def test_a_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        run(capsys, "--card", "1", "--on", "22/11/2026")
    assert exit.value.code == 2
    assert "'22/11/2026' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
