"""The ``sip2`` connector: a home ILS asked over SIP2 2.00 (3M Standard Interchange Protocol).

``messages`` builds and reads the messages, ``client`` is one connection, ``pool`` keeps
logged-in connections per library, ``breaker`` stops asking an ILS that is down, and
``connector`` puts them together behind the ``Connector`` protocol.
"""

from identity.patrons.connectors.sip2.connector import Sip2Connector

__all__ = ["Sip2Connector"]
