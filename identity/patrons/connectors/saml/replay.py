"""Each assertion is accepted once (SAML profiles 4.1.4.5: a bearer assertion must not be used
twice), by whichever instance of the hub sees it first: the issuer and ID of every assertion
accepted are kept in the database until it would no longer be accepted anyway, and a second
one with the same issuer and ID is refused. The unique key decides a race between instances;
``hub db purge`` forgets those that have expired."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from identity.store.database import transaction
from identity.store.models import SamlAssertionSeen


def accept_once(engine: Engine, *, issuer: str, assertion_id: str, until: datetime) -> bool:
    """Record the assertion; False if it was recorded before (a replay)."""
    key = hashlib.sha256(f"{issuer}\n{assertion_id}".encode()).hexdigest()
    try:
        with transaction(engine) as session:
            session.add(SamlAssertionSeen(key=key, expires_at=until))
            session.flush()
    except IntegrityError:
        return False
    return True
