"""Database tables (SQLModel). Each table is changed only through a migration in
``identity/store/migrations``; a test checks that the two agree on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A time read back from the database, in UTC: SQLite gives it back without its zone (it was
    written in UTC), PostgreSQL with one."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class AgreementVersion(SQLModel, table=True):
    """One published set of agreement files. Versions are numbered by ``id`` and never change;
    the set in force is the latest one. The files are kept as published, so that the set is
    always re-read by the same loader and validator as ``hub agreements check``."""

    __tablename__ = "agreement_version"

    id: int | None = Field(default=None, primary_key=True)
    published_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    published_by: str = Field(max_length=200)
    note: str | None = Field(default=None, max_length=500)
    sha256: str = Field(max_length=64, index=True)
    #: [{"name": "caval.yaml", "text": "..."}, ...] in load order
    files: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    libraries: int
    agreements: int


class AuditEvent(SQLModel, table=True):
    """Who changed what, when, before and after, from where. Append-only: the application has
    no path that updates or deletes a row, and triggers refuse both on SQLite and PostgreSQL.
    Each row's ``hash`` covers its content and the previous row's hash, so an edit made directly
    in the database breaks the chain."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100, index=True)
    subject: str = Field(max_length=200, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    address: str | None = Field(default=None, max_length=100)
    previous_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)


class RegistryPatron(SQLModel, table=True):
    """A patron of a library whose cards the hub itself checks (connector ``registry``),
    imported from the library's CSV. ``category`` is the home ILS's code, mapped to a hub
    category through the library's category map when the patron signs in."""

    __tablename__ = "registry_patron"
    __table_args__ = (UniqueConstraint("library", "card"),)

    id: int | None = Field(default=None, primary_key=True)
    library: str = Field(max_length=64, index=True)
    card: str = Field(max_length=64)
    pin_hash: str = Field(max_length=255)
    name: str = Field(max_length=200)
    category: str = Field(max_length=64)
    expires: date | None = None
    fines: Decimal = Field(default=Decimal(0), max_digits=11, decimal_places=2)
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class OAuthClient(SQLModel, table=True):
    """A system that talks OAuth to the hub, bound to one library: a lender's web app (``rp``,
    authorization code flow) or a library system (``partner``, client credentials). The secret
    is stored as its SHA-256: it is 256 random bits, so a slow hash would add nothing but
    latency to every token request.

    ``epoch`` counts the rotations of its secret and its disablings: a client-credentials
    access token names the epoch it was issued in, and is good only while that is the
    client's. A disabled client (``disabled_at``) gets no token and its tokens are refused."""

    __tablename__ = "oauth_client"

    client_id: str = Field(primary_key=True, max_length=100)
    secret_sha256: str | None = Field(default=None, max_length=64)  # None: a public client
    library: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)  # rp | partner
    redirect_uris: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: where RP-initiated logout may send the browser back to (exact match)
    post_logout_redirect_uris: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    epoch: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    disabled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SigningKey(SQLModel, table=True):
    """A key that signs ID tokens and JWT access tokens. The newest unretired key signs; a
    retired key stays published in the JWKS until every token it signed has expired. The
    private half is kept encrypted with a key derived from ``HUB_SECRET_KEY``."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=16)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    private_jwk_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt, kept to limit PIN guessing. The card is stored only as a keyed hash
    (``card_key``); ``outcome`` is ``pending`` until the home library has answered, and a
    pending attempt counts as a failure."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    card_key: str = Field(max_length=64, index=True)
    address: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    #: pending, failure, success, unanswered; started (at an identity provider: no card); or
    #: cleared (desk staff cleared the card's lock)
    outcome: str = Field(default="pending", max_length=10)
    #: the library whose sign-in page the attempt was made at (None: an administrator's)
    lender: str | None = Field(default=None, max_length=64)


class AuthorizationCode(SQLModel, table=True):
    """An authorization code, kept as its SHA-256. It is consumed by setting ``used_at`` in the
    same statement that reads it, so two redemptions racing each other cannot both succeed; a
    second redemption revokes the tokens the first one got (RFC 6749 section 4.1.2)."""

    __tablename__ = "authorization_code"

    code_sha256: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=100, index=True)
    redirect_uri: str = Field(max_length=2000)
    scope: str = Field(max_length=500)
    nonce: str | None = Field(default=None, max_length=500)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=8)
    #: what the home library said at sign-in (see ``identity.oauth.patron.Patron``)
    patron: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    family: str = Field(max_length=64)
    auth_time: int
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class OAuthToken(SQLModel, table=True):
    """An access token (a signed JWT; kept as its SHA-256) and perhaps a refresh token. Tokens
    issued from one sign-in share a ``family``: reusing a spent refresh token, or redeeming a
    code twice, revokes the whole family."""

    __tablename__ = "oauth_token"

    id: int | None = Field(default=None, primary_key=True)
    jti: str = Field(max_length=64, unique=True)
    family: str = Field(max_length=64, index=True)
    client_id: str = Field(max_length=100, index=True)
    scope: str = Field(max_length=500)
    subject: str = Field(max_length=100)  # the pairwise sub, or the client id (client credentials)
    patron: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    access_sha256: str = Field(max_length=64, unique=True)
    refresh_sha256: str | None = Field(default=None, max_length=64, unique=True)
    issued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    refresh_expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    refresh_used_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class RevokedFamily(SQLModel, table=True):
    """A sign-in whose tokens are all revoked (a replayed code, a reused refresh token, a
    revoked refresh token, a logout). Kept so that a token saved *after* the revocation, by a
    request racing it, is saved revoked."""

    __tablename__ = "revoked_family"

    family: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RevokedToken(SQLModel, table=True):
    """A client-credentials access token revoked before it expired (RFC 7009). Such tokens are
    not stored when issued (the signed JWT is all there is); this row is what refuses it."""

    __tablename__ = "revoked_token"

    jti: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=100)
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )


class ChangeCounter(SQLModel, table=True):
    """How many times a kind of row that processes hold in memory has changed: ``clients``
    (``oauth_client``), ``keys`` (``signing_key``), ``revocations`` (``revoked_token``).
    Triggers count every insert, update and delete, whoever makes it (``identity.store.changes``
    reads them)."""

    __tablename__ = "change_counter"

    topic: str = Field(primary_key=True, max_length=32)
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class SpentTicket(SQLModel, table=True):
    """A consent ticket that has been answered (allow or deny): each is good for one answer."""

    __tablename__ = "spent_ticket"

    ticket: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


class PairwiseSubject(SQLModel, table=True):
    """Which patron a lender's pairwise ``sub`` stands for, kept when the lender first receives
    it at sign-in, so that the eligibility API can be asked by ``patron``, by that lender only."""

    __tablename__ = "pairwise_subject"

    lender: str = Field(primary_key=True, max_length=64)
    sub: str = Field(primary_key=True, max_length=100)
    home_library: str = Field(max_length=64)
    card: str = Field(max_length=64)
    scope: str = Field(max_length=500)  # what the patron agreed to share at the latest sign-in
    #: a federated patron's card at their library's standing source, as at the latest sign-in
    standing_card: str | None = Field(default=None, max_length=64)
    first_seen: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    #: the latest sign-in or refresh that gave the lender this ``sub`` (None: before it was kept)
    last_seen: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class EligibilityLookup(SQLModel, table=True):
    """One eligibility question and its answer: which client asked about which card of which
    home library. The home library's administrators may list them (``hub lookups``)."""

    __tablename__ = "eligibility_lookup"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    client_id: str = Field(max_length=100, index=True)
    lender: str = Field(max_length=64)
    home_library: str = Field(max_length=64, index=True)
    card: str | None = Field(default=None, max_length=64)
    by: str = Field(max_length=8)  # card | patron
    answer: str = Field(max_length=40)  # eligible | not-eligible | a problem slug
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class RateWindow(SQLModel, table=True):
    """How many eligibility questions a client asked in one fixed window (shared by every
    instance of the hub, so the limit holds behind a load balancer)."""

    __tablename__ = "rate_window"

    client_id: str = Field(primary_key=True, max_length=100)
    window: int = Field(primary_key=True)  # POSIX seconds at which the window starts
    count: int = 0


class AdminAccount(SQLModel, table=True):
    """An administrator: of one ``library``, or of the whole consortium (``library`` None). The
    password is kept as an argon2id hash; the TOTP secret, when there is one, encrypted with a
    key derived from ``HUB_SECRET_KEY``. ``totp_last_step`` is the last time step whose code was
    accepted, so that a code cannot be used twice."""

    __tablename__ = "admin_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    library: str | None = Field(default=None, max_length=64, index=True)
    password_hash: str = Field(max_length=255)
    totp_secret_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    totp_last_step: int | None = None
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class AdminSession(SQLModel, table=True):
    """A signed-in administrator's browser. The cookie holds a random token; the table holds only
    its SHA-256. Signing out deletes the row; an idle or too old one is refused."""

    __tablename__ = "admin_session"

    token_sha256: str = Field(primary_key=True, max_length=64)
    account_id: int = Field(index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Proposal(SQLModel, table=True):
    """A change to one entry of the agreement set (a library or an agreement) that waits for
    another party's consent before it is published (``identity.agreements.proposals``).

    ``text`` is the entry as a one-entry agreement file (None: the entry is removed);
    ``before`` is the entry as it was when proposed, so that approving a change to an entry
    that has changed since is refused. ``parties`` and ``awaiting`` are library ids (or
    ``consortium``) between commas, ``,rmit,monash,``, so that one ``LIKE '%,rmit,%'`` finds a
    library's proposals without matching ``rmit2``."""

    __tablename__ = "proposal"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    proposed_by: str = Field(max_length=200)
    proposer_library: str | None = Field(default=None, max_length=64)
    section: str = Field(max_length=20)
    target: str = Field(max_length=64, index=True)
    action: str = Field(max_length=10)  # create, update, delete
    text: str | None = Field(default=None, sa_column=Column(Text))
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    parties: str = Field(sa_column=Column(Text, nullable=False))
    awaiting: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=12, index=True)
    note: str | None = Field(default=None, max_length=500)
    decided_by: str | None = Field(default=None, max_length=200)
    #: why it was rejected, for the proposer (required to reject)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    version: int | None = None  # the version that published it


class FederatedSignin(SQLModel, table=True):
    """A sign-in waiting at a library's own identity provider (SAML or OpenID Connect), with the
    authorization request it belongs to (``identity.patrons.federated_signin``). The handle the
    provider carries back (OpenID ``state``, SAML ``RelayState``) is kept only as its SHA-256
    (``id``), and the browser that started it only as the SHA-256 of a cookie (``binding``).
    The provider's answer is taken once (``used_at``, set in the statement that finds the row),
    and the consent page that follows a sign-in is shown once (``continued_at``)."""

    __tablename__ = "federated_signin"

    id: str = Field(primary_key=True, max_length=64)
    library: str = Field(max_length=64)
    protocol: str = Field(max_length=8)  # oidc | saml
    #: what the answer must carry back: the OpenID ``nonce``, the SAML request's ID
    expects: str = Field(max_length=256)
    #: the PKCE code verifier (OpenID Connect)
    verifier: str | None = Field(default=None, max_length=128)
    #: the query string of the waiting ``/authorize`` request
    authorization: str = Field(sa_column=Column(Text, nullable=False))
    binding: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    #: who signed in (``Patron`` JSON, encrypted), once the provider said so
    patron: str | None = Field(default=None, sa_column=Column(Text))
    continued_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SamlKey(SQLModel, table=True):
    """A key pair of the hub's SAML service provider (``identity.patrons.connectors.saml.keys``):
    ``signing`` signs its authentication requests and metadata, ``encryption`` decrypts the
    assertions identity providers encrypt to it. A key is published in the metadata from
    ``created_at`` and used from ``use_from``; the one it replaces still decrypts for as long
    again. The private half is kept encrypted with a key derived from ``HUB_SECRET_KEY``."""

    __tablename__ = "saml_key"

    kid: str = Field(primary_key=True, max_length=64)
    use: str = Field(max_length=10)  # signing | encryption
    certificate: str = Field(sa_column=Column(Text, nullable=False))  # PEM
    private_key_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    use_from: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SamlAssertionSeen(SQLModel, table=True):
    """An assertion the hub has accepted, by the SHA-256 of its issuer and ID, kept until it
    has expired so that it is accepted once, by whichever instance sees it first."""

    __tablename__ = "saml_assertion_seen"

    key: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )


class OutboxMail(SQLModel, table=True):
    """An email waiting to be sent, written in the transaction of what it tells about, so that it
    is sent if and only if that commits; a sender sends it later, retrying with backoff
    (``identity.admin.outbox``). ``sent_at`` set: sent; ``given_up_at`` set: no more tries."""

    __tablename__ = "outbox_mail"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    #: the text; ``sealed``: encrypted with a key derived from ``HUB_SECRET_KEY`` (a one-time
    #: link's), and emptied once sent
    body: str = Field(sa_column=Column(Text, nullable=False))
    sealed: bool = False
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
    sent_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
    given_up_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    last_error: str | None = Field(default=None, max_length=300)


class AdminLink(SQLModel, table=True):
    """A one-time link emailed to an administrator: to set a password when invited
    (``purpose`` invite) or to choose a new one (reset). The link holds a random token; the table
    only its SHA-256. Good once, until ``expires_at``."""

    __tablename__ = "admin_link"

    token_sha256: str = Field(primary_key=True, max_length=64)
    account_id: int = Field(index=True)
    purpose: str = Field(max_length=10)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class WebhookDelivery(SQLModel, table=True):
    """One published agreement version told to one partner system's webhook (``url``), with how
    its tries went (``identity.agreements.webhooks``): the delivery log."""

    __tablename__ = "webhook_delivery"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=500, index=True)
    version: int
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    given_up_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=300)


class PatronImport(SQLModel, table=True):
    """A patron CSV uploaded on the admin pages, imported by a job in a worker thread
    (``identity.patrons.import_jobs``): its progress, written in short transactions of its own
    so that every process of the hub can show it, and its outcome. ``id`` is random and long,
    the page's address."""

    __tablename__ = "patron_import"

    id: str = Field(primary_key=True, max_length=43)
    library: str = Field(max_length=64, index=True)
    admin: str = Field(max_length=200)  # the uploading administrator's actor name
    file: str = Field(max_length=200)
    #: checking, importing, saving, then imported, refused or failed
    state: str = Field(max_length=10)
    total: int = 0  # the file's patron rows
    done: int = 0  # rows checked (checking) or ready to save (importing)
    added: int = 0
    updated: int = 0
    not_in_file: int = 0
    rejected: int = 0  # rows with a problem (refused); ``problems`` lists the first of them
    problems: list[list[Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    message: str | None = Field(default=None, max_length=500)  # why it failed
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    #: when the job last wrote its progress: one that stops moving is shown as failed
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
