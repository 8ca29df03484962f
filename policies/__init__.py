"""The reciprocal borrowing policy engine: agreements in, decisions out.

Pure: no web framework, no database. The caller gathers the facts about a patron and asks::

    import policies
    agreements = policies.load("policies/examples")
    decision = agreements.decide(policies.BorrowRequest(
        lender="monash", home_library="rmit", category="undergraduate", on=date(2026, 11, 22)))
    decision.to_dict()   # the eligibility answer (docs/eligibility.md, The answer)
"""

from policies.agreements import Agreements
from policies.decision import BorrowRequest, Code, Decision, Reason
from policies.errors import InvalidAgreements, PolicyError, Problem
from policies.loader import DEFAULT_LIMITS, Limits, load, load_sources, read
from policies.model import (
    FLAGS,
    Bilateral,
    Consortium,
    Contact,
    Library,
    Network,
    Suspension,
    Terms,
)

__all__ = [
    "DEFAULT_LIMITS",
    "FLAGS",
    "Agreements",
    "Bilateral",
    "BorrowRequest",
    "Code",
    "Consortium",
    "Contact",
    "Decision",
    "InvalidAgreements",
    "Library",
    "Limits",
    "Network",
    "PolicyError",
    "Problem",
    "Reason",
    "Suspension",
    "Terms",
    "load",
    "load_sources",
    "read",
]
