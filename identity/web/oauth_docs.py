"""What the OpenAPI document says about the OAuth endpoints, which read their own bodies (to see
every value of a repeated parameter): their form fields, their answers, the OAuth error object
(RFC 6749 5.2) and the two ways a caller authenticates (client credentials, RFC 6749 2.3.1;
a bearer access token, RFC 6750 2.1)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from fastapi.openapi.models import HTTPBase, HTTPBearer
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ConfigDict, Field

FORM = "application/x-www-form-urlencoded"


class Documented(SecurityBase):
    """A security scheme for the document only: the endpoint reads the header itself."""

    def __init__(self, model: HTTPBase, name: str) -> None:
        self.model = model
        self.scheme_name = name

    async def __call__(self, request: Request) -> None:
        return None


CLIENT = Documented(
    HTTPBase(
        scheme="basic",
        description="The client's id and secret (client_secret_basic); client_id and "
        "client_secret in the form (client_secret_post) are accepted too, and a public client "
        "sends only client_id.",
    ),
    "client authentication",
)
ACCESS_TOKEN = Documented(
    HTTPBearer(description="A patron's access token from POST /token (scope openid)."),
    "access token",
)


class OAuthErrorOut(BaseModel):
    """An OAuth error (RFC 6749 5.2)."""

    error: str = Field(examples=["invalid_grant"])
    error_description: str | None = Field(default=None, examples=["The code is not valid."])


class TokenOut(BaseModel):
    """RFC 6749 5.1, with OpenID Connect's ``id_token``."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str | None = None
    refresh_token: str | None = None
    id_token: str | None = None


class IntrospectionOut(BaseModel):
    """RFC 7662 2.2: ``{"active": false}`` alone for a token that is not active, or not the
    caller's."""

    active: bool
    scope: str | None = None
    client_id: str | None = None
    token_type: Literal["Bearer", "refresh_token"] | None = None
    exp: int | None = None
    iat: int | None = None
    sub: str | None = None
    aud: str | None = None
    iss: str | None = None
    jti: str | None = None


class RevokedOut(BaseModel):
    """RFC 7009 2.2: an empty object."""

    model_config = ConfigDict(extra="forbid")


class UserInfoOut(BaseModel):
    """The claims of the token's scope (OpenID Connect Core 5.3.2); ``sub`` always."""

    model_config = ConfigDict(extra="allow")
    sub: str


class ClientFields(BaseModel):
    client_id: str | None = Field(
        default=None, description="with client_secret_post, or a public client"
    )
    client_secret: str | None = Field(default=None, description="client_secret_post")


class TokenForm(ClientFields):
    grant_type: Literal["authorization_code", "refresh_token", "client_credentials"]
    code: str | None = Field(default=None, description="authorization_code")
    redirect_uri: str | None = Field(default=None, description="authorization_code")
    code_verifier: str | None = Field(default=None, description="authorization_code (PKCE)")
    refresh_token: str | None = Field(default=None, description="refresh_token")
    scope: str | None = Field(default=None, description="client_credentials: eligibility")


class TokenHintForm(ClientFields):
    token: str
    token_type_hint: Literal["access_token", "refresh_token"] | None = None


def form_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for an endpoint reading ``model``'s fields from a form (each once)."""
    schema = model.model_json_schema()
    for name, field in schema["properties"].items():  # a form has no null: a field is left out
        field.pop("default", None)
        for option in field.pop("anyOf", []):
            if option.get("type") != "null":
                field.update(option)
        if "enum" in field and name not in schema["required"]:
            field["enum"].append("")  # RFC 6749 3.1: sent without a value is left out
    return {"requestBody": {"required": True, "content": {FORM: {"schema": schema}}}}


def answers(
    ok: type[BaseModel], ok_description: str, errors: dict[int, str]
) -> dict[int | str, Any]:
    """The ``responses`` of an OAuth endpoint: ``ok``, and an OAuth error for each status in
    ``errors`` (a 401 always with ``WWW-Authenticate``, RFC 9110 15.5.2)."""
    out: dict[int | str, Any] = {200: {"model": ok, "description": ok_description}}
    for status, description in errors.items():
        out[status] = {"model": OAuthErrorOut, "description": description}
        if status == 401:
            header = {"required": True, "schema": {"type": "string"}}
            out[status]["headers"] = {"WWW-Authenticate": header}
    return out
