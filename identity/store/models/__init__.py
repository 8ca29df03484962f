"""Database tables (SQLModel). Each table is changed only through a migration in
``identity/store/migrations``; a test checks that the two agree on SQLite and PostgreSQL.

The tables are kept by concept in this package's modules; importing the package registers
every one of them on ``SQLModel.metadata``, and its names are the ones callers import."""

from identity.store.models.admin import (
    AdminAccount,
    AdminLink,
    AdminSession,
    AuditEvent,
    OutboxMail,
)
from identity.store.models.agreements import AgreementVersion, Proposal, WebhookDelivery
from identity.store.models.clock import as_utc, utcnow
from identity.store.models.eligibility import EligibilityLookup, PairwiseSubject, RateWindow
from identity.store.models.oauth import (
    AuthorizationCode,
    ChangeCounter,
    OAuthClient,
    OAuthToken,
    RevokedFamily,
    RevokedToken,
    SigningKey,
    SpentTicket,
)
from identity.store.models.patrons import (
    FederatedSignin,
    LoginAttempt,
    PatronImport,
    RegistryPatron,
    SamlAssertionSeen,
    SamlKey,
)

__all__ = [
    "AdminAccount",
    "AdminLink",
    "AdminSession",
    "AgreementVersion",
    "AuditEvent",
    "AuthorizationCode",
    "ChangeCounter",
    "EligibilityLookup",
    "FederatedSignin",
    "LoginAttempt",
    "OAuthClient",
    "OAuthToken",
    "OutboxMail",
    "PairwiseSubject",
    "PatronImport",
    "Proposal",
    "RateWindow",
    "RegistryPatron",
    "RevokedFamily",
    "RevokedToken",
    "SamlAssertionSeen",
    "SamlKey",
    "SigningKey",
    "SpentTicket",
    "WebhookDelivery",
    "as_utc",
    "utcnow",
]
