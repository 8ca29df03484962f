"""What can go wrong talking SIP2 to a home ILS. Every one of them fails closed: the connector
turns each into ``HomeLibraryUnavailable`` (a 503), never into a patron.

    Sip2Error
    ├── Unreachable      cannot connect, the connection dropped, or no answer in time
    │   └── Dropped      the connection was closed or reset
    │       └── NotSent  ... found while sending the request, so the ILS cannot have read it
    │                    (the only failure after which a reused connection is retried)
    ├── Garbled          a reply that is not SIP2: bad checksum after resends, wrong sequence
    │   │                number, wrong or truncated message, bytes after the reply, a reply
    │   │                about another institution (the connection is out of step)
    │   └── BadRecord    one patron's record cannot be read (about another card, a field
    │                    repeated or not in the configured encoding, fees or an expiry that do
    │                    not parse): a 503 for that patron, but not a sign that the ILS is down
    ├── Busy             every pooled connection to the ILS is in use (the hub is busy, not
    │                    the ILS)
    └── Refused          the ILS refused the hub's login (93) or is offline (98), or a request
                         cannot be written in the configured encoding

Only ``Unreachable``, ``Garbled`` (but not ``BadRecord``) and ``Refused`` count against the
library's circuit breaker. Messages never hold a PIN or the login password: only what went
wrong.
"""

from __future__ import annotations


class Sip2Error(Exception):
    """The ILS could not be asked, or its answer cannot be trusted."""


class Unreachable(Sip2Error):
    pass


class Dropped(Unreachable):
    pass


class NotSent(Dropped):
    pass


class Garbled(Sip2Error):
    pass


class BadRecord(Garbled):
    pass


class Busy(Sip2Error):
    pass


class Refused(Sip2Error):
    pass
