"""The HTTP benchmark's peer for the eligibility API (``bench_http.py``): a bare FastAPI app
with the same request and answer shapes and nothing behind them. The body is parsed into a
pydantic model, and a fixed decision (``BENCH_DECISION``, the JSON the hub answered for the same
question, else the example below) goes out through a response model, as the hub's does.

    uvicorn tests.benchmarks.bare_eligibility:app --workers 2
"""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

from fastapi import FastAPI, Response
from pydantic import BaseModel, ConfigDict, Field

EXAMPLE: dict[str, Any] = {
    "eligible": True,
    "lender": "monash",
    "home_library": "rmit",
    "patron_category": "undergraduate",
    "terms": {
        "max_items": 10,
        "loan_days": 21,
        "renewals": 2,
        "holds": 3,
        "excluded_material": ["av", "reserve"],
    },
    "agreements": ["caval-2026"],
    "reasons": [],
    "valid_until": "2027-12-07",
    "decided_at": "2026-12-07T09:30:00Z",
}
DECISION: dict[str, Any] = json.loads(os.environ.get("BENCH_DECISION") or "null") or EXAMPLE


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    home_library: str | None = None
    card: str | None = Field(default=None, min_length=1, max_length=256)
    patron: str | None = None
    material: str | None = None
    on: date | None = None
    lender: str | None = None


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: list[Question] = Field(min_length=1, max_length=100)


class Terms(BaseModel):
    max_items: int
    loan_days: int
    renewals: int
    holds: int
    excluded_material: list[str]


class Reason(BaseModel):
    code: str
    agreement: str | None
    message: str


class Decision(BaseModel):
    eligible: bool
    lender: str
    home_library: str
    patron_category: str
    terms: Terms | None
    agreements: list[str]
    reasons: list[Reason]
    valid_until: date | None
    decided_at: str


class Item(BaseModel):
    status: int
    decision: Decision | None = None


class Results(BaseModel):
    results: list[Item]


app = FastAPI()


@app.post("/api/v1/eligibility", response_model=Decision)
async def check(body: Question, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "no-store"
    return DECISION


@app.post("/api/v1/eligibility/batch", response_model=Results)
async def check_batch(body: Batch, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "no-store"
    return {"results": [{"status": 200, "decision": DECISION} for _ in body.requests]}
