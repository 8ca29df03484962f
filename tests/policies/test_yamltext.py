"""No text crashes the loader: whatever it is given, it accepts a set or reports located
problems. Nesting too deep for any use is refused before a parser sees it; characters YAML does
not allow and runaway aliases are refused too; and every YAML parser in the code base is reached
only through ``policies.yamltext.guarded``."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policies
from policies import InvalidAgreements, yamltext

ROOT = Path(policies.__file__).parents[1]
EXAMPLES = Path(policies.__file__).parent / "examples"
LIBRARIES = (EXAMPLES / "libraries.yaml").read_text(encoding="utf-8")
CAVAL = (EXAMPLES / "caval.yaml").read_text(encoding="utf-8")
TOO_DEEP = "nested more than 32 levels deep"


def outcome(*sources: tuple[str, str]) -> list[policies.Problem]:
    """The problems of loading ``sources`` (none: it loaded). Any other exception fails."""
    try:
        policies.load_sources(sources)
    except InvalidAgreements as exc:
        assert exc.problems
        names = {name for name, _ in sources}
        for problem in exc.problems:
            assert problem.file in names, problem
            assert problem.message, problem
        return exc.problems
    return []


# --- nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        # a block list, 9,000 levels under a library's name (a RecursionError writing the message)
        ("libraries:\n  - id: x\n    name:\n      " + "- " * 9000 + "x\n", 4, 65),
        # (libyaml's scanner reads a flow list ahead to its own limit, 1,000 levels, and says so)
        ("libraries:\n  - id: x\n    name: " + "[" * 2000 + "]" * 2000 + "\n", 3, 1008),
        ("agreements:\n  - id: x\n    terms: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n", 3, 128),
        # lines broken by CR alone, as old Mac editors save them
        ("libraries:\r  - " + "- " * 40 + "x\r", 2, 65),
    ],
    ids=["block", "flow-list", "flow-mapping", "cr-line-breaks"],
)
def test_nesting_too_deep_is_one_located_problem(text: str, line: int, column: int) -> None:
    (problem,) = outcome(("deep.yaml", text))
    assert (problem.file, problem.line, problem.column) == ("deep.yaml", line, column)
    assert problem.message.startswith(TOO_DEEP)
    assert "agreement files need at most 5" in problem.message


def nested(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@settings(max_examples=60, deadline=None)
@given(
    depth=st.integers(1, 45),
    flow=st.sampled_from([False, True, None]),
    indent=st.integers(2, 9),
)
def test_the_guard_refuses_exactly_what_is_too_deep(
    depth: int, flow: bool | None, indent: int
) -> None:
    """Well-formed YAML in any style is refused exactly when it nests past ``MAX_DEPTH``."""
    text = yaml.safe_dump(nested(depth), default_flow_style=flow, indent=indent)
    if depth > yamltext.MAX_DEPTH:
        with pytest.raises(yamltext.YamlRefused, match=TOO_DEEP):
            yamltext.check(text)
    else:
        yamltext.check(text)
        assert yamltext.load(text) == nested(depth)


# --- characters, aliases, sizes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("libraries:\n  - id: x\n    name: RMIT\x00\n", 3, 15, "character U+0000 is not allowed"),
        ("libraries:\n  - id: x\n    name: \ud800\n", 3, 11, "U+D800 is a lone surrogate"),
        ("libraries:\n  - id: x\n    name: a\x1b[31m\n", 3, 12, "character U+001B"),
    ],
    ids=["nul", "lone-surrogate", "escape"],
)
def test_characters_yaml_does_not_allow_are_located(
    text: str, line: int, column: int, message: str
) -> None:
    (problem,) = outcome(("odd.yaml", text))
    assert (problem.line, problem.column) == (line, column)
    assert message in problem.message


def laughs(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "text",
    [
        laughs(10),  # a billion x's, from 600 characters
        "libraries: {a: 1, a: 2}\n" + laughs(10),  # placing the duplicate key must not expand them
        laughs(6) + "\n".join(f"b{n}: " + ", ".join(["*a5"] * 100) for n in range(20)),
    ],
    ids=["billion-laughs", "duplicate-key-after-laughs", "many-aliases"],
)
def test_aliases_are_not_expanded_without_bound(text: str) -> None:
    started = time.perf_counter()
    (problem, *_) = outcome(("laughs.yaml", text))
    assert time.perf_counter() - started < 2
    assert problem.file == "laughs.yaml"


def test_an_anchor_used_as_an_alias_loads() -> None:
    text = CAVAL.replace("terms: {", "terms: &usual {", 1) + (
        "  - id: again\n    kind: consortium\n    members: [rmit, monash]\n"
        "    categories: [staff]\n    terms: *usual\n"
    )
    loaded = policies.load_sources([("libraries.yaml", LIBRARIES), ("caval.yaml", text)])
    again, caval = loaded.agreements["again"], loaded.agreements["caval-2026"]
    assert isinstance(again, policies.Consortium) and isinstance(caval, policies.Consortium)
    assert again.terms == caval.terms


def test_a_key_that_is_a_mapping_is_located() -> None:
    (problem,) = outcome(("keys.yaml", "libraries: []\n? {a: [1]}\n: 2\n"))
    assert (problem.line, problem.column) == (2, 3)
    assert "a key that is a list or a mapping is not allowed" in problem.message


# --- fuzzing -----------------------------------------------------------------------------------

#: pieces of YAML, of agreement files, and of what breaks parsers
PIECES = [
    *("- ", "? ", ": ", ":", "[", "]", "{", "}", ",", "#", "|", ">", "'", '"', "\\", "&a ", "*a"),
    *("\n", "\r\n", "\r", "  ", "\t", "---\n", "...\n", "%YAML 1.2\n", "!!str ", "!!binary "),
    *("\ufeff", "\x00", "\x1b", "\x85", "\u2028", "\ud800", "é", "😀", "<<: *a", "~", "null"),
    *("x", "1", "-1", "1e400", "0o17", ".inf", "99999999999999999999999", "2026-02-30"),
    *("libraries:", "agreements:", "id: x", "kind: bilateral", "max_fines: 1.234", "name: "),
]
SOUP = st.lists(st.sampled_from(PIECES), max_size=50).map("".join)
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)
BYTES = st.binary(max_size=200).map(lambda data: data.decode("utf-8", "surrogateescape"))
LEVEL = st.sampled_from(["- ", "[", "{a: ", "? ", "&a [", "- &a "])
DEEP = st.tuples(LEVEL, st.integers(0, 20_000)).map(
    lambda piece: "libraries:\n  - " + piece[0] * piece[1] + "x\n"
)
HUGE = st.tuples(st.sampled_from(["a", "'", "[", "-", " ", "\n"]), st.integers(0, 200_000)).map(
    lambda piece: f"libraries:\n  - id: x\n    name: {piece[0] * piece[1]}\n"
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(SOUP, TEXT, BYTES, DEEP, HUGE))
def test_any_text_loads_or_gets_located_problems(text: str) -> None:
    outcome(("fuzz.yaml", text))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(CAVAL)), st.integers(0, 30), SOUP)
def test_any_change_to_a_valid_file_loads_or_gets_located_problems(
    at: int, cut: int, inserted: str
) -> None:
    changed = CAVAL[:at] + inserted + CAVAL[at + cut :]
    outcome(("libraries.yaml", LIBRARIES), ("caval.yaml", changed))


# --- one way in ----------------------------------------------------------------------------------

PARSING = re.compile(
    r"\b(?:yaml_rs|yaml|YAML\([^)]*\))\.(?:loads?|safe_load|full_load|unsafe_load|load_all|"
    r"safe_load_all|compose|compose_all|parse|scan)\(|\.compose\("
)


def test_every_yaml_parser_is_reached_through_the_guard() -> None:
    """A parser called anywhere but ``policies/yamltext.py`` would skip the guard."""
    calls = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("policies", "identity")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "yamltext.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PARSING.search(line)
    ]
    assert calls == []
