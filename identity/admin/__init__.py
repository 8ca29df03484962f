"""Administration (issue 6): administrators' accounts and sessions, what each may see of the
audit log, and the published agreement versions (view, diff, export); changes to the agreements
and who may make them (``changes``), what a change would flip (``whatif``) and connection tests
(``connections``). A change that cannot be made raises one of ``identity.errors``' problems. The
web pages and the admin API are in ``identity.web.admin``; ``hub admin`` is in
``identity.cli.admin``.

Roles: an account with no ``library`` is a consortium administrator and may see everything; an
account of a library is that library's administrator (see ``auditlog.visible_to`` for what it
sees of the audit log).
"""
