"""The settings: rates written one way, read by one parser, refused with the same message whether
they come from the environment or are read where they are used; the pool size's range; and
``settings`` stands alone."""

import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError

from identity.security.guessing_limits import Limits
from identity.settings import QUESTIONS, Settings, rate


@pytest.mark.parametrize("value", ["0/60", "600", "600/60,10/1", "x/60", "600/0", "/"])
def test_a_malformed_eligibility_rate_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="a rate limit is written like 600/60"):
        Settings(eligibility_rate=value)


@pytest.mark.parametrize("value", ["5/900,0/60", "5", "5/900;20/86400", ""])
def test_a_malformed_guessing_limit_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="a guessing limit is written like 5/900"):
        Settings(guesses_per_card=value)


@pytest.mark.parametrize("value", [0, 101])
def test_a_pool_size_out_of_range_is_refused(value: int) -> None:
    with pytest.raises(ValidationError, match="HUB_DATABASE_POOL_SIZE must be between 1 and 100"):
        Settings(database_pool_size=value)


def test_the_rates_are_read_as_written() -> None:
    assert rate(Settings(eligibility_rate="600/60").eligibility_rate, QUESTIONS) == (600, 60)
    limits = Limits.parse("5/900, 20/86400", "30/900")
    assert limits.per_card == ((5, timedelta(seconds=900)), (20, timedelta(days=1)))
    assert limits.per_address == ((30, timedelta(seconds=900)),)


def test_settings_imports_nothing_of_the_hub() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; from identity.settings import Settings; Settings(); "
         "print(sorted(m for m in sys.modules if m.startswith('identity.')))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert loaded.strip() == (
        "['identity.settings', 'identity.settings.outgoing', 'identity.settings.values']"
    )
