"""Loading a set of agreement files: the public entry points ``load``, ``load_sources`` and
``read``, and the ``Limits`` that bound a set.

Valid files take the fast path: ``yaml_rs`` (a Rust YAML 1.2 parser that refuses duplicate keys)
builds plain data, pydantic validates each library and agreement, ``check`` cross-checks the set.
Only when something is wrong is the file read a second time, as libyaml's events (which carry
line and column), to turn the path of each problem listed into a line and column; the reading
stops once they are all placed. Each file is read and validated by ``policies.sourcefile``; its
problems are worded by ``policies.messages``.

A set's size is bounded by ``Limits``: its text, its entries, and how many problems are listed.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from policies.agreements import Agreements
from policies.errors import InvalidAgreements, Problem
from policies.messages import label
from policies.model import Network
from policies.sourcefile import SourceFile, Unreadable
from policies.validate import check
from policies.yamltext import position

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Limits:
    """How large a set may be: ``max_bytes`` of text (UTF-8) in all its files together,
    ``max_entries`` libraries and agreements (None: no limit), and how many problems an
    ``InvalidAgreements`` lists (the rest are counted). ``max_bytes_name`` and
    ``max_entries_name`` name the settings in a refusal (``HUB_AGREEMENTS_MAX_MB``)."""

    max_bytes: int | None = None
    max_entries: int | None = None
    max_problems: int = 100
    max_bytes_name: str = ""
    max_entries_name: str = ""


#: the limits of ``load`` and ``load_sources`` unless given: none on size, 100 problems listed
DEFAULT_LIMITS = Limits()


def load(*paths: str | Path, limits: Limits = DEFAULT_LIMITS) -> Agreements:
    """Load agreement files (or every ``*.yaml``/``*.yml`` in a directory) as one set.

    Raises ``InvalidAgreements`` listing the problems (at most ``limits.max_problems``, then how
    many more there are), each with file, line and column.
    """
    return load_sources(read(*paths), limits=limits)


def load_sources(
    sources: Iterable[tuple[str, str]],
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Agreements:
    """Load ``(name, yaml_text)`` pairs as one set, as ``load`` does with files."""
    files = [SourceFile(name, text) for name, text in sources]
    if not files:
        raise InvalidAgreements([Problem("<none>", None, None, "no agreement files given")])
    _check_size(files, limits)
    with _gc_paused():
        for f in files:
            f.parse()
        _check_entries(files, limits)
        for f in files:
            f.validate()
        libraries = [(f, i, lib) for f in files for i, lib in f.libraries]
        agreements = [(f, i, a) for f in files for i, a in f.agreements]
        issues = check(
            [lib for _, _, lib in libraries],
            [a for _, _, a in agreements],
            also_known_libraries={x for f in files for x in f.invalid_library_ids},
            also_known_categories={x for f in files for x in f.invalid_library_categories},
        )
        for issue in issues:
            owner, index, item = (libraries if issue.section == "libraries" else agreements)[
                issue.index
            ]
            owner.problem(
                (issue.section, index, *issue.path),
                f"{label(issue.section, item)}: {issue.message}",
            )
        network = _network(files)
        _raise_problems(files, limits.max_problems)
        return Agreements(
            [lib for _, _, lib in libraries],
            [a for _, _, a in agreements],
            sources={a.id: f.name for f, _, a in agreements},
            checked=True,
            network=network,
        )


def _network(files: list[SourceFile]) -> Network:
    """The set's ``network`` section: from the one file that has one (a second is a problem)."""
    first: SourceFile | None = None
    for f in files:
        if f.network_data is None:
            continue
        if first is not None:
            f.problem(
                ("network",), f"network is set in {first.name} already: set it once", at_key=True
            )
        else:
            first = f
    return first.network if first is not None and first.network is not None else Network()


def _check_size(files: list[SourceFile], limits: Limits) -> None:
    if limits.max_bytes is None:
        return
    total = 0
    for f in files:
        size = len(f.text) if f.text.isascii() else len(f.text.encode(errors="surrogatepass"))
        total += size
        if total > limits.max_bytes:
            over = len(f.text) - (total - limits.max_bytes)  # about where the limit is passed
            line, _ = position(f.text, max(0, min(over, len(f.text) - 1)))
            named = f" ({limits.max_bytes_name})" if limits.max_bytes_name else ""
            message = (
                f"the agreement set is larger than the limit of {_size(limits.max_bytes)}"
                f"{named}; nothing was read"
            )
            raise InvalidAgreements([Problem(f.name, line, None, message)])


def _check_entries(files: list[SourceFile], limits: Limits) -> None:
    if limits.max_entries is None:
        return
    seen = 0
    for f in files:
        for section, items in f.sections:
            if seen + len(items) > limits.max_entries:
                index = limits.max_entries - seen
                line, column = f.locate([((section, index), False)])[((section, index), False)]
                named = f" ({limits.max_entries_name})" if limits.max_entries_name else ""
                message = (
                    f"the agreement set has more than {limits.max_entries:,} libraries and "
                    f"agreements, the limit{named}; this is the first one over it"
                )
                raise InvalidAgreements([Problem(f.name, line, column, message)])
            seen += len(items)


def _size(count: int) -> str:
    if count % 2**20 == 0:
        return f"{count // 2**20} MiB"
    return f"{count:,} bytes"


def _raise_problems(files: list[SourceFile], most: int) -> None:
    """Raise ``InvalidAgreements`` with the first ``most`` problems, by file and position,
    placing only those; the rest are counted."""
    total = sum(len(f.problems) + len(f.pending) for f in files)
    if not total:
        return
    shown: list[Problem] = []
    for f in files:
        room = most - len(shown)
        if room <= 0:
            break
        shown += f.first_problems(room)
    raise InvalidAgreements(shown, more=total - len(shown))


def read(*paths: str | Path) -> list[tuple[str, str]]:
    """The ``(name, text)`` sources that ``load`` reads: each file, and every ``*.yaml``/``*.yml``
    in each directory, sorted. A file that cannot be read becomes a source that
    ``load_sources`` reports as a problem, so reading never raises."""
    return list(_read(paths))


def _read(paths: Iterable[str | Path]) -> Iterator[tuple[str, str]]:
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            yield _read_file(path)
            continue
        found = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
        if not found:
            yield str(path), Unreadable("no *.yaml or *.yml files in this directory")
        yield from (_read_file(p) for p in found)


def _read_file(path: Path) -> tuple[str, str]:
    try:
        # utf-8-sig: a byte-order mark some editors write is not part of the first key
        return str(path), path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return str(path), Unreadable(f"cannot read: {exc}")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Millions of small containers make the cyclic collector run over and over; none are cyclic."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
