"""``hub patrons import`` and the registry connector, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import bcrypt
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

import policies
from identity.patrons import registry_import
from identity.patrons.connectors.registry import RegistryConnector
from identity.security import passwords
from identity.store.database import transaction
from identity.store.models import AuditEvent, RegistryPatron
from tests.conftest import Hub

EXAMPLES = Path(policies.__file__).parent / "examples"
RMIT = policies.load(EXAMPLES).libraries["rmit"]
HEADER = "card,pin,name,category,expires,fines,flags"
GOOD = [
    "21110000000001,1234,Ada Good,UG,2027-06-30,0.00,",
    '21110000000002,2345,Bob Blocked,UG,2027-06-30,0,"charge_denied,card_lost"',
    "21110000000003,3456,Cy Expired,PG,2026-01-31,,",
    "21110000000004,4567,Di Fines,STAFF,,25.50,",
]


def rows(*lines: str, header: str = HEADER) -> list[list[str]]:
    return list(csv.reader([header, *lines]))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("99990000000005,5678,Ed,UG,,,", "card 99990000000005 does not start with rmit's prefixes"),
        ("2111-0005,5678,Ed,UG,,,", "card '2111-0005' is not 1-64 letters and digits"),
        (
            "211100000000055,5678,Ed,UG,,,",
            "card 211100000000055 does not match rmit's card_pattern",
        ),
        ("21110000000006,,Fay,UG,,,", "pin is empty"),
        ("21110000000007,7890,Gus,XX,,,", "category 'XX' is not in rmit's category map"),
        ("21110000000008,8901,Hal,UG,,,lost_card", "unknown flag 'lost_card'"),
        ("21110000000009,9012,Ivy,UG,31/12/2027,,", "expires '31/12/2027' is not a date"),
        ("21110000000010,0123,Jo,UG,,-1,", "fines '-1' is not an amount in cents"),
        ("21110000000011,0123,Kim,UG,,1.005,", "fines '1.005' is not an amount in cents"),
        ("21110000000012,0123,,UG,,,", "name is empty"),
        ("21110000000013,0123,Lu,UG,,", "6 fields, the header has 7"),
        ("21110000000001,9999,Ada Again,UG,,,", "card 21110000000001 is also on line 2"),
    ],
)
def test_each_bad_row_is_rejected_with_its_line_and_reason(line: str, reason: str) -> None:
    checked = registry_import.check_rows(rows(GOOD[0], line), RMIT)
    assert [r.card for r in checked.rows] == ["21110000000001"]
    assert len(checked.rejected) == 1
    number, why = checked.rejected[0]
    assert number == 3 and why.startswith(reason), why


def test_names_and_category_codes_are_read_in_nfc() -> None:
    uqam = policies.Library(id="uqam", name="UQAM", categories={"\u00c9TU": "undergraduate"})
    checked = registry_import.check_rows(rows("1234,1234,E\u0301lodie,E\u0301TU,,,"), uqam)
    assert checked.rejected == []
    assert [(r.name, r.category) for r in checked.rows] == [("\u00c9lodie", "\u00c9TU")]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("card,name,category", "exactly one of pin and pin_hash"),
        ("card,pin,pin_hash,name,category", "exactly one of pin and pin_hash"),
        ("card,pin,name", "missing column(s): category"),
        ("card,pin,name,category,expiry", "unknown column(s): expiry"),
        ("card,pin,name,category,name", "column(s) named twice: name"),
    ],
)
def test_a_file_that_is_not_a_patron_csv_is_refused_whole(header: str, problem: str) -> None:
    with pytest.raises(
        registry_import.ImportRefused, match=problem.replace("(", r"\(").replace(")", r"\)")
    ):
        registry_import.check_rows(rows(header=header), RMIT)


def import_good(engine: Engine, lines: list[str] | None = None) -> registry_import.Imported:
    checked = registry_import.check_rows(rows(*(lines or GOOD)), RMIT)
    assert not checked.rejected
    with transaction(engine) as session:
        return registry_import.import_rows(
            session=session,
            library="rmit",
            rows=checked.rows,
            hashes=registry_import.hash_pins(checked.rows),
            actor="t",
        )


def test_import_then_sign_in_with_the_registry_connector(engine: Engine) -> None:
    assert import_good(engine) == registry_import.Imported(added=4, updated=0)
    registry = RegistryConnector("rmit", engine)
    holder = registry.authenticate("21110000000002", "2345")
    assert holder is not None
    assert (holder.name, holder.category, holder.expires, holder.fines, holder.flags) == (
        "Bob Blocked",
        "UG",
        date(2027, 6, 30),
        Decimal("0.00"),
        frozenset({"charge_denied", "card_lost"}),
    )
    assert registry.authenticate("21110000000002", "2346") is None  # wrong PIN
    assert registry.authenticate("21110000009999", "2345") is None  # unknown card
    assert RegistryConnector("monash", engine).authenticate("21110000000002", "2345") is None
    looked_up = registry.lookup("21110000000004")
    assert looked_up is not None and looked_up.fines == Decimal("25.50")
    with pytest.raises(ValueError, match="empty PIN"):
        registry.authenticate("21110000000001", "")


@pytest.mark.db
def test_reimport_updates_and_the_audit_log_holds_no_pins(engine: Engine) -> None:
    import_good(engine)
    again = import_good(engine, [GOOD[0].replace("Ada Good", "Ada Lovelace"), GOOD[1]])
    assert again == registry_import.Imported(added=0, updated=2, not_in_file=2)
    with Session(engine) as session:
        names = {p.card: p.name for p in session.exec(select(RegistryPatron))}
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "patrons.import")).all()
    assert names["21110000000001"] == "Ada Lovelace" and len(names) == 4
    assert [e.after for e in events] == [
        {"added": 4, "updated": 0, "rejected": 0},
        {"added": 0, "updated": 2, "rejected": 0},
    ]
    with engine.connect() as connection:
        dump = str(connection.execute(text("SELECT * FROM audit_event")).all())
    with Session(engine) as session:
        hashes = [p.pin_hash for p in session.exec(select(RegistryPatron))]
    assert "$argon2" not in dump and not any(h in dump for h in hashes)
    with Session(engine) as session:
        assert all(
            p.pin_hash.startswith("$argon2id$") for p in session.exec(select(RegistryPatron))
        )


@pytest.mark.deployed_hash_cost
def test_an_ils_bcrypt_hash_signs_in_and_becomes_argon2(engine: Engine) -> None:
    exported = bcrypt.hashpw(b"4321", bcrypt.gensalt(rounds=4)).decode()
    checked = registry_import.check_rows(
        rows(
            f"21110000000020,{exported},Eve,UG,,,",
            header="card,pin_hash,name,category,expires,fines,flags",
        ),
        RMIT,
    )
    with transaction(engine) as session:
        registry_import.import_rows(
            session=session,
            library="rmit",
            rows=checked.rows,
            hashes=registry_import.hash_pins(checked.rows),
            actor="t",
        )
    registry = RegistryConnector("rmit", engine)
    assert registry.authenticate("21110000000020", "9999") is None
    assert registry.authenticate("21110000000020", "4" * 73) is None  # bcrypt's 72-byte limit
    assert passwords.verify("4" * 73, exported) == (False, None)
    with Session(engine) as session:
        assert session.exec(select(RegistryPatron)).one().pin_hash == exported  # not on failure
    assert registry.authenticate("21110000000020", "4321") is not None
    with Session(engine) as session:
        stored = session.exec(select(RegistryPatron)).one().pin_hash
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # OWASP's minimum
    assert registry.authenticate("21110000000020", "4321") is not None


@pytest.mark.db
def test_the_command_imports_all_or_nothing(hub: Hub, engine: Engine, tmp_path: Path) -> None:
    hub("db", "upgrade")
    hub("agreements", "load", str(EXAMPLES))
    csv_file = tmp_path / "rmit.csv"
    csv_file.write_text("\n".join([HEADER, *GOOD, "21110000000007,7890,Gus,XX,,,"]) + "\n")
    refused = hub("patrons", "import", str(csv_file), "--library", "rmit")
    assert refused.returncode == 1
    assert (
        refused.stdout
        == f"{csv_file}:6: category 'XX' is not in rmit's category map (STAFF, PG, UG, ALUM)\n"
    )
    assert (
        "1 row rejected; nothing imported (--skip-invalid imports the 4 valid ones)."
        in refused.stderr
    )
    with Session(engine) as session:
        assert session.exec(select(RegistryPatron)).all() == []
    partial = hub("patrons", "import", str(csv_file), "--library", "rmit", "--skip-invalid")
    assert partial.returncode == 0, partial.stderr
    assert partial.stdout.endswith("Imported 4 patrons into rmit (4 new, 0 updated); 1 rejected.\n")
    unknown = hub("patrons", "import", str(csv_file), "--library", "nowhere")
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "No library 'nowhere' in the published agreements.\n",
    )
