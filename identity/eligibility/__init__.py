"""The eligibility API's work (docs/eligibility.md): may this lender lend to that card, today?

A request goes through three steps, each a module:

- ``asking``: one query reads what the bearer token says (the client and its library), the
  latest agreement version and the client's count in its current rate window;
- ``answers``: the home library is asked about each card (``lookup``; a registry library once
  for a whole batch), and each question is decided, or gets its problem;
- ``records``: every question is recorded with its answer and counted against the client's
  rate, in a commit shared with the other requests waiting at that moment, before any answer
  leaves.
"""
