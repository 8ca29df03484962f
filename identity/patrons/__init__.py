"""Patrons and their home libraries: how a card is read (``cards``), importing a library's
patrons into the hub's registry (``registry_import``), and the connectors that ask a home
library about a card (``connectors/``: the registry, SIP2, and the turns at each library)."""
