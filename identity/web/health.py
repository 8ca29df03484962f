"""``GET /healthz``: the process is up and its database answers (for load balancers)."""

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from identity.web.deps import SessionDep

router = APIRouter()


class Health(BaseModel):
    status: str


@router.get("/healthz", tags=["operations"])
def health(session: SessionDep) -> Health:
    session.execute(text("SELECT 1"))
    return Health(status="ok")
