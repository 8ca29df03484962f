"""Benchmark the policy engine against docs/agreements.md: deciding should not slow down as the
number of agreements grows, and against an independent Cedar encoding (tests/policies/cedar.py).

    .venv/bin/python tests/benchmarks/bench_policies.py [--sizes 1000,10000,100000,1000000]
        [--out FILE] [--quick]

For each size: a synthetic network of ``--libraries`` libraries (mostly one-way bilaterals, some
consortia of 5-30 members, some suspensions, with effective windows and categories) is built as
pydantic models; ``policies.Agreements`` is built from them (timed, and its memory measured); a
fixed list of random requests is decided by the hub (timed) and by Cedar (timed, fewer requests),
and every Cedar answer is compared with the hub's. At ``--yaml-size`` agreements the network is
also written as YAML and loaded with ``policies.load``. One JSON document goes to stdout (and to
``--out``); targets are reported as measured, met or not.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import policies
from policies import (
    FLAGS,
    Bilateral,
    BorrowRequest,
    Code,
    Consortium,
    Decision,
    Library,
    Suspension,
    Terms,
)
from policies.model import Effective, Standing
from tests.policies.cedar import CedarModel

AnyAgreement = Consortium | Bilateral | Suspension

BASE = date(2026, 6, 15)
CATEGORIES = ("staff", "postgraduate", "undergraduate", "alumni", "public", "researcher")
CODES = {
    "staff": "STF",
    "postgraduate": "PG",
    "undergraduate": "UG",
    "alumni": "ALU",
    "public": "PUB",
    "researcher": "RES",
}
MATERIAL = ("reserve", "av", "thesis", "rare")
#: share of each kind of agreement
MIX = {"bilateral": 0.90, "suspension": 0.07, "consortium": 0.03}
CONSORTIUM_SIZE = (5, 30)
HUB_BATCH = 1000

TARGETS = {
    "hub_median_us_at_1M": 2.0,
    "hub_1M_over_1k": 1.5,
    "hub_faster_than_cedar": 40.0,
    "yaml_load_100k_s": 10.0,
}


# --- synthetic networks --------------------------------------------------------------------------


def make_libraries(count: int, rng: random.Random) -> list[Library]:
    libraries = []
    for i in range(count):
        cats = ["staff", *(c for c in CATEGORIES[1:] if rng.random() < 0.6)]
        libraries.append(
            Library(
                id=f"lib{i:05d}",
                name=f"Library {i}",
                card_prefixes=(f"9{i:05d}",),
                categories={CODES[c]: c for c in cats},
            )
        )
    return libraries


def window(rng: random.Random, short: bool = False) -> Effective:
    """Mostly a window around BASE; some open-ended, some ended, some not yet begun."""
    start = None if rng.random() < 0.2 else BASE + timedelta(days=rng.randint(-1500, 300))
    if rng.random() < 0.3:
        return Effective.model_validate({"from": start})
    length = rng.randint(20, 200) if short else rng.randint(60, 1500)
    end = (start or BASE - timedelta(days=rng.randint(0, 200))) + timedelta(days=length)
    return Effective.model_validate({"from": start, "until": end})


def standing_pool(rng: random.Random) -> list[Standing]:
    out = []
    for _ in range(24):
        fines = rng.choice((None, "0.00", "5.00", "10.00", "20.00", "50.00"))
        out.append(
            Standing(
                max_fines=None if fines is None else Decimal(fines),
                card_must_be_valid=rng.random() < 0.8,
                blocking_flags=tuple(rng.sample(FLAGS, rng.randint(0, 5))),
            )
        )
    return out


def terms_pool(rng: random.Random) -> list[Terms]:
    return [
        Terms(
            max_items=rng.randint(1, 10),
            loan_days=rng.choice((7, 14, 21, 28)),
            renewals=rng.randint(0, 2),
            holds=rng.randint(0, 3),
            excluded_material=tuple(rng.sample(MATERIAL, rng.randint(0, 2))),
        )
        for _ in range(24)
    ]


def make_agreements(count: int, ids: Sequence[str], rng: random.Random) -> list[AnyAgreement]:
    """``count`` agreements in the proportions of MIX, among the libraries ``ids``."""
    standings, terms = standing_pool(rng), terms_pool(rng)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=count)
    out: list[AnyAgreement] = []
    for n, kind in enumerate(kinds):
        categories = tuple(rng.sample(CATEGORIES, rng.randint(1, 3)))
        if kind == "consortium":
            out.append(
                Consortium(
                    id=f"c{n:07d}",
                    kind="consortium",
                    members=tuple(rng.sample(ids, rng.randint(*CONSORTIUM_SIZE))),
                    effective=window(rng),
                    categories=categories,
                    standing=rng.choice(standings),
                    terms=rng.choice(terms),
                )
            )
            continue
        lender, *homes = rng.sample(ids, 1 + rng.randint(1, 3 if kind == "bilateral" else 2))
        if kind == "bilateral":
            out.append(
                Bilateral(
                    id=f"b{n:07d}",
                    kind="bilateral",
                    lender=lender,
                    borrowers_from=tuple(homes),
                    effective=window(rng),
                    categories=categories,
                    standing=rng.choice(standings),
                    terms=rng.choice(terms),
                )
            )
        else:
            out.append(
                Suspension(
                    id=f"s{n:07d}",
                    kind="suspension",
                    lender=lender,
                    borrowers_from=tuple(homes),
                    effective=window(rng, short=True),
                    categories=None if rng.random() < 0.6 else categories[:2],
                    reason="Unpaid lost-item invoices",
                )
            )
    return out


def make_requests(
    count: int, libraries: Sequence[Library], agreements: Sequence[AnyAgreement], rng: random.Random
) -> list[BorrowRequest]:
    """Requests about random agreements (so some are eligible, some fail standing, some are
    suspended), about random pairs of libraries (mostly no agreement), and odd ones."""
    ids = [lib.id for lib in libraries]
    by_kind: dict[str, list[AnyAgreement]] = {}
    for a in agreements:
        by_kind.setdefault(a.kind, []).append(a)
    out = []
    for _ in range(count):
        roll = rng.random()
        category = rng.choice(CATEGORIES)
        kind = "bilateral" if roll < 0.40 else "consortium" if roll < 0.60 else "suspension"
        if roll < 0.70 and by_kind.get(kind):
            a = rng.choice(by_kind[kind])
            if isinstance(a, Consortium):
                lender, home = rng.sample(a.members, 2)
            else:
                lender, home = a.lender, rng.choice(a.borrowers_from)
            if a.categories and rng.random() < 0.85:
                category = rng.choice(a.categories)
        elif roll < 0.95:
            lender, home = rng.sample(ids, 2)
        else:
            lender, home = rng.choice(
                ((ids[0], ids[0]), ("nowhere", rng.choice(ids)), (rng.choice(ids), rng.choice(ids)))
            )
            category = rng.choice((*CATEGORIES, "visitor"))
        on = BASE + timedelta(days=rng.randint(-300, 300))
        if roll < 0.70 and by_kind.get(kind) and rng.random() < 0.8:
            on = in_window(a.effective, rng)  # mostly a day the agreement is in force
        out.append(
            BorrowRequest(
                lender=lender,
                home_library=home,
                category=category,
                on=on,
                material=None if rng.random() < 0.7 else rng.choice(("book", *MATERIAL)),
                fines=Decimal(
                    rng.choice(("0.00", "0.00", "0.00", "5.00", "10.00", "10.01", "25.00", "60.00"))
                ),
                flags=frozenset() if rng.random() < 0.85 else frozenset({rng.choice(FLAGS)}),
                card_expires=None
                if rng.random() < 0.3
                else on + timedelta(days=rng.randint(-60, 400)),
            )
        )
    return out


def in_window(effective: Effective, rng: random.Random) -> date:
    start = effective.from_ or BASE - timedelta(days=400)
    end = effective.until or max(start, BASE) + timedelta(days=400)
    return start + timedelta(days=rng.randint(0, (end - start).days))


def outcome(decision: Decision) -> str:
    if decision.eligible:
        return "eligible"
    codes = {r.code for r in decision.reasons}
    if Code.SUSPENDED in codes:
        return "suspended"
    if codes & {Code.OWN_LIBRARY, Code.UNKNOWN_LIBRARY, Code.UNKNOWN_CATEGORY}:
        return "refused_outright"
    if Code.NO_AGREEMENT in codes:
        return "no_agreement"
    return "fails_standing"


# --- YAML ----------------------------------------------------------------------------------------


def _flow(items: Sequence[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _effective(e: Effective) -> str | None:
    parts = [f"from: {e.from_.isoformat()}"] if e.from_ else []
    parts += [f"until: {e.until.isoformat()}"] if e.until else []
    return "{" + ", ".join(parts) + "}" if parts else None


def to_yaml(libraries: Sequence[Library], agreements: Sequence[AnyAgreement]) -> str:
    """Block style, like policies/examples: one mapping per item, short lists in flow style."""
    lines = ["libraries:"]
    for lib in libraries:
        cats = ", ".join(f"{k}: {v}" for k, v in lib.categories.items())
        lines += [
            f"  - id: {lib.id}",
            f"    name: {lib.name}",
            f"    card_prefixes: {_flow([repr(p) for p in lib.card_prefixes])}",
            f"    categories: {{{cats}}}",
            "    connector: {kind: registry}",
        ]
    lines.append("agreements:")
    for a in agreements:
        lines += [f"  - id: {a.id}", f"    kind: {a.kind}"]
        if isinstance(a, Consortium):
            lines.append(f"    members: {_flow(a.members)}")
        else:
            lines += [f"    lender: {a.lender}", f"    borrowers_from: {_flow(a.borrowers_from)}"]
        effective = _effective(a.effective)
        if effective:
            lines.append(f"    effective: {effective}")
        if a.categories:
            lines.append(f"    categories: {_flow(a.categories)}")
        if isinstance(a, Suspension):
            lines.append(f"    reason: {a.reason}")
            continue
        s, t = a.standing, a.terms
        standing = [f"card_must_be_valid: {str(s.card_must_be_valid).lower()}"]
        if s.max_fines is not None:
            standing.insert(0, f"max_fines: {s.max_fines:.2f}")
        if s.blocking_flags:
            standing.append(f"blocking_flags: {_flow(s.blocking_flags)}")
        terms = [
            f"max_items: {t.max_items}",
            f"loan_days: {t.loan_days}",
            f"renewals: {t.renewals}",
            f"holds: {t.holds}",
        ]
        if t.excluded_material:
            terms.append(f"excluded_material: {_flow(t.excluded_material)}")
        lines += [f"    standing: {{{', '.join(standing)}}}", f"    terms: {{{', '.join(terms)}}}"]
    return "\n".join(lines) + "\n"


# --- measuring -----------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter_ns()
    result = fn()
    return result, (time.perf_counter_ns() - start) / 1e9


def hub_batch_means(
    decide: Callable[[BorrowRequest], Decision], requests: Sequence[BorrowRequest], rounds: int
) -> list[float]:
    """Mean microseconds per decision of each batch of HUB_BATCH consecutive requests."""
    means = []
    for _ in range(rounds):
        for i in range(0, len(requests), HUB_BATCH):
            batch = requests[i : i + HUB_BATCH]
            start = time.perf_counter_ns()
            for request in batch:
                decide(request)
            means.append((time.perf_counter_ns() - start) / len(batch) / 1000)
    return means


@dataclass
class Options:
    sizes: list[int]
    libraries: int
    requests: int
    cedar_requests: int
    rounds: int
    yaml_size: int
    tracemalloc_max: int
    cedar_feed: str
    full_entities_max: int
    seed: int


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Prepared:
    """One size, built and decided once, waiting to be timed (``time_sizes``) and compared with
    Cedar (``finish``)."""

    size: int
    hub: policies.Agreements
    requests: list[BorrowRequest]
    decisions: list[Decision]
    by_outcome: dict[str, list[BorrowRequest]]
    facts: dict[str, Any]
    #: per-batch means of the hub's timing rounds: all requests, and each outcome's
    means: list[float] = field(default_factory=list)
    outcome_means: dict[str, list[float]] = field(default_factory=dict)


def prepare(size: int, opts: Options) -> Prepared:
    log(f"{size} agreements: building models")
    rng = random.Random(opts.seed + size)
    gc.collect()
    libraries = make_libraries(opts.libraries, rng)
    ids = [lib.id for lib in libraries]
    agreement_list, models_s = timed(lambda: make_agreements(size, ids, rng))
    kinds = Counter(a.kind for a in agreement_list)
    consortia_per_library = Counter(
        m for a in agreement_list if isinstance(a, Consortium) for m in a.members
    )

    log(f"{size} agreements: building the hub")
    gc.collect()
    rss0 = rss_bytes()
    hub, build_s = timed(lambda: policies.Agreements(libraries, agreement_list))
    gc.collect()
    rss_delta = rss_bytes() - rss0
    peak = None
    if size <= opts.tracemalloc_max:
        tracemalloc.start()
        policies.Agreements(libraries, agreement_list)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        gc.collect()

    requests = make_requests(opts.requests, libraries, agreement_list, rng)
    decisions = [hub.decide(r) for r in requests]  # also the warm-up
    outcomes = [outcome(d) for d in decisions]
    by_outcome: dict[str, list[BorrowRequest]] = {}
    for request, name in zip(requests, outcomes, strict=True):
        by_outcome.setdefault(name, []).append(request)
    facts = {
        "agreements": size,
        "libraries": opts.libraries,
        "kinds": dict(sorted(kinds.items())),
        "consortia_per_library": {
            "mean": round(sum(consortia_per_library.values()) / opts.libraries, 1),
            "max": max(consortia_per_library.values(), default=0),
        },
        "build_models_s": round(models_s, 3),
        "hub_build_s": round(build_s, 3),
        "hub_build_rss_delta_mb": round(rss_delta / 2**20, 1),
        "hub_build_tracemalloc_peak_mb": None if peak is None else round(peak / 2**20, 1),
        "requests": len(requests),
        "requests_by_outcome": dict(sorted(Counter(outcomes).items())),
    }
    if size == opts.yaml_size:  # now, before a larger size fills the heap
        log(f"{size} agreements: YAML")
        facts["yaml_load"] = bench_yaml(libraries, agreement_list, hub, requests[:2000])
    return Prepared(
        size,
        hub,
        requests,
        decisions,
        dict(sorted(by_outcome.items())),
        facts,
    )


def time_sizes(prepared: Sequence[Prepared], rounds: int) -> None:
    """Time every size in each round, in turn (the order reversed every other round), so that
    a slow spell of a shared machine weighs on every size alike, not on whichever size was
    being timed then. Each round: every request of the size once, then each outcome's."""
    order = list(prepared)
    for number in range(rounds):
        log(f"timing the hub: round {number + 1} of {rounds}")
        for p in order:
            gc.collect()
            p.means += hub_batch_means(p.hub.decide, p.requests, 1)
            for name, group in p.by_outcome.items():
                p.outcome_means.setdefault(name, []).extend(hub_batch_means(p.hub.decide, group, 1))
        order.reverse()


def finish(p: Prepared, opts: Options) -> dict[str, Any]:
    """The hub's figures for one size, with Cedar's on the same requests and the YAML load."""
    hub, size = p.hub, p.size
    sample = p.requests[: opts.cedar_requests]
    hub_sample_median = statistics.median(hub_batch_means(hub.decide, sample, opts.rounds))
    feeds = [opts.cedar_feed]
    if opts.cedar_feed == "auto":
        feeds = ["all", "per-pair"] if size <= opts.full_entities_max else ["per-pair"]
    cedar_runs = []
    for feed in feeds:
        log(f"{size} agreements: Cedar, {feed}")
        cedar_runs.append(bench_cedar(hub, feed, sample, p.decisions[: len(sample)]))
        gc.collect()
    cedar = cedar_runs[0]
    result: dict[str, Any] = {
        **p.facts,
        "hub_us_per_decision_median": round(statistics.median(p.means), 3),
        "hub_us_per_decision_min_batch": round(min(p.means), 3),
        "hub_us_per_decision_max_batch": round(max(p.means), 3),
        "hub_us_by_outcome_median": {
            name: round(statistics.median(means), 3) for name, means in p.outcome_means.items()
        },
        "cedar": cedar,
        "cedar_controls": cedar_runs[1:],
        "hub_us_per_decision_median_on_cedar_requests": round(hub_sample_median, 3),
        "cedar_over_hub": round(cedar["us_per_decision_median"] / hub_sample_median, 1),
        "cedar_call_only_over_hub": round(
            cedar["call_us_per_decision_median"] / hub_sample_median, 1
        ),
        "disagreements": sum(run["disagreements"] for run in cedar_runs),
    }
    return result


def bench_cedar(
    hub: policies.Agreements,
    feed: str,
    sample: Sequence[BorrowRequest],
    decisions: Sequence[Decision],
) -> dict[str, Any]:
    """Cedar on ``sample``, fed as ``feed`` (see CedarModel): timings and disagreements."""
    rss0 = rss_bytes()
    cedar, build_s = timed(lambda: CedarModel(hub, feed=feed))
    cedar.prepare(sample)  # per-pair: parse every pair's entities before timing
    rss_delta = rss_bytes() - rss0
    totals: list[float] = []
    calls: list[float] = []
    called: list[float] = []
    authorization_requests = 0
    disagreements: list[dict[str, Any]] = []
    for request, decision in zip(sample, decisions, strict=True):
        start = time.perf_counter_ns()
        verdict = cedar.verdict(request)
        totals.append((time.perf_counter_ns() - start) / 1000)
        calls.append(verdict.call_ns / 1000)
        if verdict.candidates:
            called.append(verdict.call_ns / 1000)
            authorization_requests += 2 * verdict.candidates
        if verdict.eligible != decision.eligible:
            disagreements.append(
                {
                    "request": repr(request),
                    "hub": decision.to_dict(),
                    "cedar_applies": sorted(verdict.applies),
                    "cedar_admits": sorted(verdict.admits),
                }
            )
    if cedar.entities is not None:
        handles, entities = 1, len(cedar.entities)
    else:
        handles = len(cedar.pair_entities)
        entities = sum(len(e) for e in cedar.pair_entities.values())
    return {
        "feeding": feed,
        "requests": len(sample),
        "authorization_requests": authorization_requests,
        "entity_handles": handles,
        "entities": entities,
        "entities_parse_s": round(cedar.entities_parse_ns / 1e9, 3),
        "model_build_s": round(build_s, 3),
        "rss_delta_mb": round(rss_delta / 2**20, 1),
        "us_per_decision_median": round(statistics.median(totals), 1),
        "us_per_decision_mean": round(statistics.fmean(totals), 1),
        "call_us_per_decision_median": round(statistics.median(calls), 1),
        "call_us_median_when_called": round(statistics.median(called), 1) if called else None,
        "decisions_without_candidates": len(sample) - len(called),
        "disagreements": len(disagreements),
        "disagreement_examples": disagreements[:5],
    }


def bench_yaml(
    libraries: Sequence[Library],
    agreements: Sequence[AnyAgreement],
    hub: policies.Agreements,
    requests: Sequence[BorrowRequest],
) -> dict[str, Any]:
    text = to_yaml(libraries, agreements)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "network.yaml"
        path.write_text(text, encoding="utf-8")
        loaded, load_s = timed(lambda: policies.load(path))
    differ = sum(
        loaded.decide(r).to_dict() | {"decided_at": None}
        != hub.decide(r).to_dict() | {"decided_at": None}
        for r in requests
    )
    return {
        "agreements": len(loaded),
        "file_mb": round(len(text.encode()) / 2**20, 1),
        "load_s": round(load_s, 3),
        "decisions_differing_from_model_built_set": differ,
    }


def verdicts(results: list[dict[str, Any]], reads: dict[str, Any]) -> dict[str, Any]:
    by_size = {r["agreements"]: r for r in results}
    out: dict[str, Any] = {}
    if 1_000_000 in by_size:
        measured = by_size[1_000_000]["hub_us_per_decision_median"]
        out["hub_median_us_at_1M"] = _target(measured, TARGETS["hub_median_us_at_1M"], "<=")
        if 1000 in by_size:
            at_1k = by_size[1000]["hub_us_per_decision_median"]
            ratio = measured / at_1k
            out["hub_1M_over_1k"] = _target(round(ratio, 2), TARGETS["hub_1M_over_1k"], "<=")
            index = reads.get(f"{index_mib(by_size[1_000_000])} MiB")
            if index is not None:
                out["hub_1M_over_1k"]["note"] = (
                    f"one random read in a block the size of the 1M index takes {index} ns on "
                    f"this machine, {index / 1000 / at_1k:.0%} of the 1k median"
                )
    slowest = min(r["cedar_call_only_over_hub"] for r in results)
    out["hub_faster_than_cedar"] = _target(slowest, TARGETS["hub_faster_than_cedar"], ">=")
    out["hub_faster_than_cedar"]["note"] = "smallest cedar_call_only_over_hub over all sizes"
    yaml_runs = [r["yaml_load"] for r in results if "yaml_load" in r]
    if yaml_runs and yaml_runs[0]["agreements"] == 100_000:
        out["yaml_load_100k_s"] = _target(yaml_runs[0]["load_s"], TARGETS["yaml_load_100k_s"], "<=")
    return out


def _target(measured: float, target: float, sense: str) -> dict[str, Any]:
    met = measured <= target if sense == "<=" else measured >= target
    return {"measured": measured, "target": f"{sense} {target}", "met": met}


LATENCY_PROBE = Path(__file__).with_name("memory_latency.c")


def index_mib(result: dict[str, Any]) -> int:
    """The size of one size's index, in whole MiB (its hub_build_rss_delta_mb)."""
    return max(1, int(result["hub_build_rss_delta_mb"]))


def probe_sizes(results: Sequence[dict[str, Any]]) -> list[int]:
    """In MiB: a block that fits in the caches, one that does not, and one the size of the
    largest index."""
    return sorted({4, 256, max(index_mib(r) for r in results)})


def random_read_ns(sizes_mib: Sequence[int]) -> dict[str, Any]:
    """Nanoseconds per dependent random read in blocks of ``sizes_mib`` MiB (memory_latency.c,
    compiled with the machine's C compiler), keyed "N MiB"; the error instead, if it cannot
    be measured."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return {"error": "no C compiler to build memory_latency.c"}
    with tempfile.TemporaryDirectory() as temp:
        program = Path(temp) / "memory_latency"
        try:
            subprocess.run(
                [compiler, "-O2", "-o", str(program), str(LATENCY_PROBE)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            run = subprocess.run(
                [str(program), *(str(mib * 2**20) for mib in sizes_mib)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            return {"error": f"{' '.join(exc.cmd)}: {exc.stderr.strip()}"}
    out: dict[str, Any] = {}
    for line in run.stdout.splitlines():
        size, ns = line.split()
        out[f"{int(size) // 2**20} MiB"] = float(ns)
    return out


METHOD = {
    "hub_timing": (
        "Agreements.decide over a fixed, pre-built list of random requests, in batches of "
        f"{HUB_BATCH} consecutive requests timed with time.perf_counter_ns; the figure is the "
        "median of the per-batch mean microseconds per decision (loop overhead included), over "
        "all passes ('rounds') through the list, after one warm-up pass. Every size is built "
        "first; then each round times every size in turn, in an order reversed every other "
        "round, so that a slow spell of the machine falls on all sizes alike. Per-outcome "
        "figures time the requests of each outcome separately, in the same rounds."
    ),
    "cedar_timing": (
        "CedarModel.verdict, timed per decision with time.perf_counter_ns on the first "
        "'cedar.requests' requests of the same list (fewer than the hub's, as Cedar is slower): "
        "us_per_decision_* covers candidate lookup, building the request batch, the "
        "is_authorized_batch call and combining the answers; call_us_* only the "
        "is_authorized_batch call (0 when there is no candidate and so no call)."
    ),
    "cedar_feeding": (
        "Every agreement is one Agreement entity; the PolicySet is parsed once per size. "
        "feeding 'all': all agreements parsed once per size into one Entities handle "
        "(entities_parse_s) reused for every request. feeding 'per-pair': for each (lender, home) "
        "pair in the sample, only that pair's candidate agreements, parsed once into a handle "
        "cached for the pair before timing starts (entities_parse_s is the sum); used as the "
        "main run only above --full-entities-max agreements (default 1,000,000: never in the "
        "default run), and otherwise as a control ('cedar_controls'). Either way, per decision, "
        "one is_authorized_batch call with two requests (applies, admits) per candidate: "
        "the bilateral agreements and suspensions of the (lender, home) pair and the consortia "
        "listing both libraries, from the Cedar model's own index. 'cedar' is the run with the "
        "full entity set when there is one."
    ),
    "agreement_check": (
        "Every request Cedar answered (each feeding) is compared with the hub's decision on "
        "eligible / not eligible; 'disagreements' counts the differences (examples are kept in "
        "'disagreement_examples'). The YAML-loaded set is compared with the model-built set on "
        "2,000 whole decisions (decided_at aside)."
    ),
    "request_mix": (
        "70% are about a random agreement (40% bilateral, 20% consortium, 10% suspension draws): "
        "its lender and a borrower or two members, mostly a covered category and a day in force; "
        "25% a random pair of libraries; 5% odd (own library, unknown library or category). "
        "Fines, flags, card expiry and material vary. With the library count fixed, bigger "
        "networks are denser, so the outcome mix shifts with size (requests_by_outcome)."
    ),
    "ratios": (
        "cedar_over_hub = Cedar's median per decision (end to end) / the hub's median per "
        "decision on the same requests (hub_us_per_decision_median_on_cedar_requests); "
        "cedar_call_only_over_hub the same with only the is_authorized_batch call. The "
        "hub_faster_than_cedar target is judged on the smallest call-only ratio over all sizes, "
        "which leaves the Cedar model's Python glue out of Cedar's time."
    ),
    "memory": (
        "hub_build_rss_delta_mb: resident set size after minus before Agreements(libraries, "
        "agreements), after gc.collect(); hub_build_tracemalloc_peak_mb: tracemalloc peak of a "
        "second, identical build (only up to --tracemalloc-max agreements; null above). "
        "cedar.rss_delta_mb: the same for building the Cedar model and its entity handles."
    ),
    "random_read_ns": (
        "machine.random_read_ns: nanoseconds per read of a chain of dependent random reads, one "
        "per 64-byte line, in blocks allocated as the index allocates its tables "
        "(memory_latency.c): 4 MiB (within the caches), 256 MiB, and the size of the largest "
        "index built. A decision at 1M agreements waits for at least one such read (its pair's "
        "slot), which a decision at 1k finds in the caches."
    ),
    "yaml_load": (
        "The network written as block-style YAML to a temporary file, then policies.load(path) "
        "timed end to end (right after that size is built, before any larger one); 2,000 "
        "decisions compared with the set built from models."
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true", help="few requests: a smoke test")
    parser.add_argument("--libraries", type=int, default=2000)
    parser.add_argument("--requests", type=int)
    parser.add_argument("--cedar-requests", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--yaml-size", type=int, help="default 100000, or the smallest size")
    parser.add_argument(
        "--tracemalloc-max",
        type=int,
        default=100_000,
        help="measure the tracemalloc peak of a second hub build up to this size (0: never)",
    )
    parser.add_argument("--cedar-feed", choices=("auto", "all", "per-pair"), default="auto")
    parser.add_argument(
        "--full-entities-max",
        type=int,
        default=1_000_000,
        help="auto feed: all agreements in one Entities handle up to this size, then per pair",
    )
    parser.add_argument("--seed", type=int, default=20260615)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    opts = Options(
        sizes=sizes,
        libraries=args.libraries,
        requests=args.requests or (2000 if args.quick else 20000),
        cedar_requests=args.cedar_requests or (200 if args.quick else 2000),
        rounds=args.rounds or (1 if args.quick else 5),
        yaml_size=args.yaml_size or (100_000 if 100_000 in sizes else min(sizes)),
        tracemalloc_max=0 if args.quick else args.tracemalloc_max,
        cedar_feed=args.cedar_feed,
        full_entities_max=args.full_entities_max,
        seed=args.seed,
    )
    started = time.perf_counter()
    prepared = [prepare(size, opts) for size in sizes]
    time_sizes(prepared, opts.rounds)
    results = []
    while prepared:  # each size's models and hub are let go once it is done
        results.append(finish(prepared.pop(0), opts))
        gc.collect()
    log("the machine's memory: one random read")
    reads = random_read_ns(probe_sizes(results))
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "cedarpy": _version("cedarpy"),
            "random_read_ns": reads,
        },
        "engine": engine_fingerprint(),
        "quick": args.quick,
        "seed": opts.seed,
        "mix": MIX,
        "consortium_members": list(CONSORTIUM_SIZE),
        "method": METHOD,
        "sizes": results,
        "disagreements": sum(r["disagreements"] for r in results),
        "targets": verdicts(results, reads),
        "total_s": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


def engine_fingerprint() -> dict[str, Any]:
    """Which engine was measured: the commit, and a hash of policies/*.py and *.pyx as read."""
    root = Path(policies.__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*root.glob("*.py"), *root.glob("*.pyx")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, ""
    return {
        "commit": commit,
        "policies_modified": bool(dirty),
        "policies_sha256": digest.hexdigest()[:16],
    }


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
