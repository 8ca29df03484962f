"""What the hub requires of a response to its authentication request (SAML profiles 4.1.4.2
and 4.1.4.3, the Web Browser SSO profile's rules for a response and its assertion), checked in
order on the document as read by ``wellformed``. Each refusal names its reason.

The response, as sent:

=================  ========================================================  ================
check              requires                                                  refused as
=================  ========================================================  ================
issuer             the Response's Issuer, if any, is the library's IdP       ``issuer``
destination        Destination is the hub's ACS URL (required: it is signed  ``destination``
                   by the IdP, so a response cannot be replayed elsewhere)
in-response-to     InResponseTo is the ID of the request the hub sent        ``in-response-to``
status             the status is Success                                     ``declined``
=================  ========================================================  ================

Its assertion (decrypted, if it came encrypted):

=================  ========================================================  ================
issuer             the Assertion's Issuer is the library's IdP               ``issuer``
signed             the assertion itself carries a signature: a signed        ``unsigned``
                   Response around an unsigned assertion is not enough
algorithms         no SHA-1 in its signature                                 ``weak-signature``
issued             IssueInstant is not in the future, nor older than         ``not-yet-valid``,
                   ``MAX_AGE``                                               ``expired``
conditions         NotBefore has come, NotOnOrAfter has not passed           ``not-yet-valid``,
                                                                             ``expired``
audience           an AudienceRestriction, each naming the hub's entityID    ``audience``
confirmation       a bearer SubjectConfirmation whose data names the ACS     ``recipient``,
                   URL as Recipient, the request as InResponseTo, and a      ``in-response-to``,
                   NotOnOrAfter that has not passed                          ``expired``
=================  ========================================================  ================

Every time is compared with ``SKEW`` to spare: the IdP's clock and the hub's may differ that
much. The signature itself is verified afterwards, by pysaml2, against the IdP's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.etree.ElementTree import Element

from identity.patrons.connectors.saml.errors import Declined, Refused
from identity.patrons.connectors.saml.wellformed import DS, SAML, SAMLP

#: the largest difference between the IdP's clock and the hub's that is forgiven
SKEW = timedelta(seconds=60)
#: the oldest assertion accepted (from its IssueInstant): a browser posts it within seconds
MAX_AGE = timedelta(minutes=10)
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
#: signature and digest algorithms refused: SHA-1 (and MD5) collisions are practical
WEAK = ("sha1", "md5")


@dataclass(frozen=True, slots=True, kw_only=True)
class Expected:
    """What the response must say: who sent it, to whom, in answer to what, and when it is."""

    idp: str
    sp: str  # the hub's entityID
    acs: str  # the hub's assertion consumer service URL
    request_id: str
    now: datetime


def response(root: Element, expected: Expected) -> None:
    """The checks on the Response element (the first table)."""
    if root.tag != f"{{{SAMLP}}}Response":
        raise Refused("malformed", f"the document is not a SAML response but {root.tag}")
    issuer = root.find(f"{{{SAML}}}Issuer")
    if issuer is not None and (issuer.text or "").strip() != expected.idp:
        raise Refused("issuer", f"the response was issued by {issuer.text!r}")
    if root.get("Destination") != expected.acs:
        raise Refused("destination", f"the response is for {root.get('Destination')!r}")
    if root.get("InResponseTo") != expected.request_id:
        raise Refused("in-response-to", "the response answers another request")
    code = root.find(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusCode")
    if code is None or code.get("Value") != SUCCESS:
        inner = code.find(f"{{{SAMLP}}}StatusCode") if code is not None else None
        chosen = inner if inner is not None else code
        status = chosen.get("Value", "") if chosen is not None else ""
        message = root.findtext(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusMessage") or ""
        raise Declined(status.rsplit(":", 1)[-1] or "no status", message[:200])


def assertion(element: Element, expected: Expected) -> datetime:
    """The checks on the assertion (the second table). Returns the moment until which it
    would be accepted, which is how long the replay cache must remember it."""
    issuer = element.findtext(f"{{{SAML}}}Issuer")
    if (issuer or "").strip() != expected.idp:
        raise Refused("issuer", f"the assertion was issued by {issuer!r}")
    signature = element.find(f"{{{DS}}}Signature")
    if signature is None:
        raise Refused("unsigned", "the assertion is not signed")
    for method in ("SignatureMethod", f"Reference/{{{DS}}}DigestMethod"):
        algorithm = signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}{method}")
        name = (algorithm.get("Algorithm", "") if algorithm is not None else "").lower()
        if not name or any(weak in name.rsplit("#", 1)[-1] for weak in WEAK):
            raise Refused("weak-signature", f"the assertion is signed with {name or 'nothing'}")
    now = expected.now
    issued = _instant(element.get("IssueInstant"), "IssueInstant")
    if issued > now + SKEW:
        raise Refused("not-yet-valid", "the assertion was issued in the future")
    deadlines = [issued + MAX_AGE]
    conditions = element.find(f"{{{SAML}}}Conditions")
    if conditions is None:
        raise Refused("audience", "the assertion has no conditions, so no audience")
    deadlines += _window(conditions, now, "the assertion")
    restrictions = conditions.findall(f"{{{SAML}}}AudienceRestriction")
    if not restrictions:
        raise Refused("audience", "the assertion is not restricted to an audience")
    for restriction in restrictions:
        audiences = [(a.text or "").strip() for a in restriction.findall(f"{{{SAML}}}Audience")]
        if expected.sp not in audiences:
            raise Refused("audience", f"the assertion is for {', '.join(audiences)}")
    deadlines.append(_confirmation(element, expected))
    until = min(deadlines) + SKEW
    if until <= now:
        raise Refused("expired", "the assertion has expired")
    return until


def _confirmation(element: Element, expected: Expected) -> datetime:
    """The NotOnOrAfter of the bearer confirmation that fits; Refused if none does."""
    confirmations = element.findall(f"{{{SAML}}}Subject/{{{SAML}}}SubjectConfirmation")
    bearers = [c for c in confirmations if c.get("Method") == BEARER]
    if not bearers:
        raise Refused("recipient", "the assertion has no bearer subject confirmation")
    refusal: Refused | None = None
    for bearer in bearers:
        data = bearer.find(f"{{{SAML}}}SubjectConfirmationData")
        try:
            if data is None or data.get("Recipient") != expected.acs:
                raise Refused("recipient", "the assertion may be presented elsewhere, not here")
            if data.get("InResponseTo") != expected.request_id:
                raise Refused("in-response-to", "the assertion answers another request")
            if data.get("NotOnOrAfter") is None:
                raise Refused("expired", "the subject confirmation does not say until when")
            return min(_window(data, expected.now, "the subject confirmation"))
        except Refused as exc:
            refusal = refusal or exc
    assert refusal is not None
    raise refusal


def _window(element: Element, now: datetime, what: str) -> list[datetime]:
    """Checks NotBefore and NotOnOrAfter of ``element``; its deadline, if it has one."""
    not_before = element.get("NotBefore")
    if not_before is not None and _instant(not_before, "NotBefore") > now + SKEW:
        raise Refused("not-yet-valid", f"{what} is not valid before {not_before}")
    not_on_or_after = element.get("NotOnOrAfter")
    if not_on_or_after is None:
        return []
    deadline = _instant(not_on_or_after, "NotOnOrAfter")
    if deadline + SKEW <= now:
        raise Refused("expired", f"{what} expired at {not_on_or_after}")
    return [deadline]


def _instant(text: str | None, name: str) -> datetime:
    """An xs:dateTime, in UTC (SAML core 1.3.3)."""
    try:
        moment = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise Refused("malformed", f"{name} is not a time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
