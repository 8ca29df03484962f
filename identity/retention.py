"""Forgetting what is no longer needed: spent and expired authorization codes, tokens long
expired, answered consent tickets, sign-ins at a library's identity provider once expired, old
rate-limit windows, sign-in attempts older than ``HUB_RETAIN_SIGNIN_ATTEMPTS_DAYS`` (and the
longest guessing window), eligibility lookups older than ``HUB_RETAIN_LOOKUPS_DAYS``, which card
a lender's pairwise ``sub`` stands for once the patron has not signed in there for
``HUB_RETAIN_PAIRWISE_DAYS`` (and no refresh token can still use it), and the SAML assertions
seen, once expired; emails, webhook deliveries and patron imports after 30 days. Their rows hold
card numbers (codes, tokens, lookups, an import's problems) or traces of them, so they are not
kept. Runs when the app starts, and as ``hub db purge`` (for a
daily cron job). ``/privacy`` tells patrons these periods (``kept_for``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Delete, delete, func, or_
from sqlmodel import Session, col

from identity.admin import sessions as admin_sessions
from identity.security.guessing_limits import Limits, windows
from identity.settings import Settings
from identity.store.models import (
    AdminLink,
    AdminSession,
    AuthorizationCode,
    EligibilityLookup,
    FederatedSignin,
    LoginAttempt,
    OAuthToken,
    OutboxMail,
    PairwiseSubject,
    PatronImport,
    RateWindow,
    RevokedFamily,
    RevokedToken,
    SamlAssertionSeen,
    SpentTicket,
    WebhookDelivery,
    utcnow,
)

GRACE = timedelta(days=1)  # so an answer about a just-expired token can still be explained
#: emails to administrators (sent, given up, or never sent: no mail server), webhook
#: deliveries and patron imports started on the admin pages (their problems name cards) are kept
#: so long
MAIL_KEPT = timedelta(days=30)


@dataclass(frozen=True)
class Periods:
    """How long what concerns a patron is kept (``purge`` deletes it after that)."""

    lookups: timedelta  # the eligibility API's record of questions about a card
    signin_attempts: timedelta  # sign-in attempts (a keyed hash of the card, the address)
    tokens: timedelta  # a sign-in's tokens, with what the lender was told, after the sign-in
    pairwise: timedelta  # which card a lender's pairwise sub stands for, after the latest sign-in


def kept_for(settings: Settings) -> Periods:
    """The periods ``purge`` keeps things for, with these settings."""
    limits = Limits.parse(settings.guesses_per_card, settings.guesses_per_address)
    starts = windows(settings.federated_starts_per_address)  # starts at an identity provider
    longest_window = max(w for _, w in (*limits.per_card, *limits.per_address, *starts))
    tokens = timedelta(seconds=max(settings.refresh_lifetime_s, settings.token_lifetime_s)) + GRACE
    return Periods(
        lookups=timedelta(days=settings.retain_lookups_days),
        signin_attempts=max(timedelta(days=settings.retain_signin_attempts_days), longest_window),
        tokens=tokens,
        pairwise=max(timedelta(days=settings.retain_pairwise_days), tokens),
    )


def purge(*, session: Session, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Delete what has expired; returns how many rows of each kind went."""
    now = now or utcnow()
    periods = kept_for(settings)
    counts = {}
    counts["authorization codes"] = _delete(
        session, delete(AuthorizationCode).where(col(AuthorizationCode.expires_at) < now - GRACE)
    )
    counts["tokens"] = _delete(
        session,
        delete(OAuthToken).where(
            col(OAuthToken.expires_at) < now - GRACE,
            or_(
                col(OAuthToken.refresh_expires_at).is_(None),
                col(OAuthToken.refresh_expires_at) < now - GRACE,
            ),
        ),
    )
    counts["revoked client tokens"] = _delete(
        session, delete(RevokedToken).where(col(RevokedToken.expires_at) < now - GRACE)
    )
    longest_refresh = timedelta(seconds=settings.refresh_lifetime_s)
    counts["revoked sign-ins"] = _delete(
        session, delete(RevokedFamily).where(col(RevokedFamily.at) < now - longest_refresh - GRACE)
    )
    counts["consent tickets"] = _delete(
        session, delete(SpentTicket).where(col(SpentTicket.at) < now - GRACE)
    )
    counts["identity provider sign-ins"] = _delete(
        session, delete(FederatedSignin).where(col(FederatedSignin.expires_at) < now)
    )
    counts["administrator sessions"] = _delete(
        session,
        delete(AdminSession).where(
            or_(
                col(AdminSession.last_seen_at) < now - admin_sessions.IDLE,
                col(AdminSession.created_at) < now - admin_sessions.LIFETIME,
            )
        ),
    )
    counts["rate-limit windows"] = _delete(
        session, delete(RateWindow).where(col(RateWindow.window) < (now - GRACE).timestamp())
    )
    counts["sign-in attempts"] = _delete(
        session, delete(LoginAttempt).where(col(LoginAttempt.at) < now - periods.signin_attempts)
    )
    counts["eligibility lookups"] = _delete(
        session, delete(EligibilityLookup).where(col(EligibilityLookup.at) < now - periods.lookups)
    )
    last_seen = func.coalesce(col(PairwiseSubject.last_seen), col(PairwiseSubject.first_seen))
    counts["pairwise subjects"] = _delete(
        session, delete(PairwiseSubject).where(last_seen < now - periods.pairwise)
    )
    counts["SAML assertions seen"] = _delete(
        session, delete(SamlAssertionSeen).where(col(SamlAssertionSeen.expires_at) < now)
    )
    counts["emails"] = _delete(
        session, delete(OutboxMail).where(col(OutboxMail.created_at) < now - MAIL_KEPT)
    )
    counts["webhook deliveries"] = _delete(
        session, delete(WebhookDelivery).where(col(WebhookDelivery.created_at) < now - MAIL_KEPT)
    )
    counts["patron imports"] = _delete(
        session, delete(PatronImport).where(col(PatronImport.started_at) < now - MAIL_KEPT)
    )
    counts["administrator links"] = _delete(
        session, delete(AdminLink).where(col(AdminLink.expires_at) < now - GRACE)
    )
    return counts


def _delete(session: Session, statement: Delete) -> int:
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
