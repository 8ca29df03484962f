"""What can go wrong talking SIP2 to a home ILS. Every one of them fails closed: the connector
turns each into ``HomeLibraryUnavailable`` (a 503), never into a patron.

    Sip2Error
    ├── Unreachable      cannot connect, the connection dropped, or no answer in time
    │   └── Dropped      the connection was closed or reset (a reused one may be retried)
    ├── Garbled          a reply that is not SIP2: bad checksum after resends, wrong sequence
    │                    number, wrong or truncated message, a field that does not parse
    └── Refused          the ILS refused the hub's login (93) or is offline (98)

Messages never hold a PIN or the login password: only what went wrong.
"""

from __future__ import annotations


class Sip2Error(Exception):
    """The ILS could not be asked, or its answer cannot be trusted."""


class Unreachable(Sip2Error):
    pass


class Dropped(Unreachable):
    pass


class Garbled(Sip2Error):
    pass


class Refused(Sip2Error):
    pass
