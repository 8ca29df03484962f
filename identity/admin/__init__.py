"""Administration: administrators' accounts (``accounts``), sessions (``sessions``) and signing
in (``signin``); the hash-chained audit log (``audit``) and what each may see of it
(``auditlog``); connection tests (``connections``). Changes to the agreements and who may make
them are in ``identity.agreements``. A change that cannot be made raises one of
``identity.errors``' problems. The web pages and the admin API are in ``identity.web.admin``;
``hub admin`` is in ``identity.cli.admin``.

Roles: an account with no ``library`` is a consortium administrator and may see everything; an
account of a library is that library's administrator (see ``auditlog.visible_to`` for what it
sees of the audit log).
"""
