"""``GET /healthz``: the process answers (docs/operations.md), for a load balancer's or an
orchestrator's liveness check. It asks nothing of the database: a database that cannot be
reached is answered 503 by the endpoints that need it, and restarting the hub would not help."""

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter()


class Health(BaseModel):
    status: str


@router.get("/healthz", tags=["operations"])
def health() -> Health:
    return Health(status="ok")
