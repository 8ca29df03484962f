"""The ``ldap`` connector: a home library's directory (LDAP, Active Directory) checks the
patron's username and password with a bind.

``client`` is one connection (TLS, binds, searches, deadlines), ``pool`` keeps open connections
per library, ``entries`` reads a patron's entry, and ``connector`` puts them together behind the
``Connector`` protocol, with the SIP2 connector's circuit breaker.
"""

from identity.patrons.connectors.ldap.connector import LdapConnector

__all__ = ["LdapConnector"]
