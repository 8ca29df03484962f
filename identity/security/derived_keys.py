"""Keys derived from ``HUB_SECRET_KEY``, one per purpose (HKDF-SHA256 with the purpose as its
``info``), so that no two uses of the secret share a key."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def fernet(secret: str, purpose: str) -> Fernet:
    """The Fernet key for ``purpose`` (e.g. ``"signing keys"``): changing either changes it."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"hub {purpose}".encode()
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))
