"""What can go wrong asking a home library's directory. Every one of them fails closed: the
connector turns each into ``HomeLibraryUnavailable`` (a 503), never into a patron.

    LdapError
    ├── Unreachable      cannot connect, no TLS session (an untrusted certificate, another host
    │   │                name), the connection dropped, no answer in time, or the directory
    │   │                says it is busy or unavailable
    │   └── NotSent      ... found while sending a request on a reused connection, so the
    │                    directory cannot have read it (the only failure after which the request
    │                    is sent again, on a new connection)
    ├── Refused          the directory refused the service account's bind or a search (no such
    │                    base, no access, a filter it cannot read), or the connection has no TLS
    │                    where it must
    ├── BadRecord        one patron's entry cannot be read: two entries match, an attribute is
    │                    not UTF-8 or holds several values where one is read, an expiry or an
    │                    Active Directory flag does not parse (a 503 for that patron, but not a
    │                    sign that the directory is down)
    └── Busy             every pooled connection to the directory is in use (the hub is busy,
                         not the directory)

Only ``Unreachable`` and ``Refused`` count against the library's circuit breaker: what a
patron's bind or entry says never does. Messages never hold a password: only what went wrong.
"""

from __future__ import annotations


class LdapError(Exception):
    """The directory could not be asked, or its answer cannot be used."""


class Unreachable(LdapError):
    pass


class NotSent(Unreachable):
    pass


class Refused(LdapError):
    pass


class BadRecord(LdapError):
    pass


class Busy(LdapError):
    pass
