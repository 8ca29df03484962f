"""The browser of the browser tests: Debian's ``chromium-headless-shell`` (Chromium's headless
shell, the build Playwright itself runs for headless tests: the same Blink and V8 as ``chromium``
without the desktop browser around them, about a third of its CPU), driven by Playwright; one
for each test module (``chromium``: while it is open, Playwright's synchronous API keeps an
asyncio event loop running in the thread, which a later test's ``asyncio.run`` would find), and
a page in a new context of it for each test (``new_page``). Registered for every identity test
by ``tests/identity/conftest.py``.

``screenshot`` saves what a test shows, to be looked at, when ``HUB_SCREENSHOTS`` names a folder.

Without ``/usr/bin/chromium-headless-shell`` these tests skip, saying why, unless
``HUB_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs it), which makes that a failure."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium-headless-shell")
NewPage = Callable[..., Page]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the module (Playwright runs it without its sandbox, which
    Chromium needs when the tests run as root)."""
    if not CHROMIUM.is_file():
        reason = (
            f"Debian's headless Chromium is not installed ({CHROMIUM}):"
            " apt-get install chromium-headless-shell"
        )
        if os.environ.get("HUB_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Browser) -> Iterator[NewPage]:
    """A page in a new browser context (no cookies; ``options`` as for ``new_context``), closed
    when the test ends."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Page:
        context = chromium.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(what: Page | Locator, name: str, *, full_page: bool = True) -> None:
    """``what`` (the whole page, or one element) as ``NAME.png`` in the folder
    ``HUB_SCREENSHOTS`` names, to be looked at; nothing when it is not set, since no test reads
    the picture and each costs Chromium about half a second of CPU."""
    where = os.environ.get("HUB_SCREENSHOTS")
    if not where:
        return
    Path(where).mkdir(parents=True, exist_ok=True)
    path = str(Path(where) / f"{name}.png")
    if isinstance(what, Locator):
        what.screenshot(path=path)
    else:
        what.screenshot(path=path, full_page=full_page)
