"""``token_type_hint`` (RFC 7009 2.1, RFC 7662 2.1) for revocation and introspection. A hint
the hub does not know is ``unsupported_token_type`` with status 400 (RFC 7009 2.2.1: an error
response as in RFC 6749 5.2); Authlib answers it 401 without a ``WWW-Authenticate`` header,
which RFC 9110 15.5.2 requires of every 401."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import UnsupportedTokenTypeError


class UnsupportedTokenType(OAuth2Error):  # type: ignore[misc]
    error = "unsupported_token_type"
    description = "token_type_hint is access_token or refresh_token."
    status_code = 400


class CheckedHint:
    """Mixed into an Authlib revocation or introspection endpoint, before it."""

    def check_params(self, request: Any, client: Any) -> None:
        try:
            super().check_params(request, client)  # type: ignore[misc]
        except UnsupportedTokenTypeError:
            raise UnsupportedTokenType() from None
