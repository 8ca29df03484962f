"""How the values of some ``HUB_`` settings are written and checked: rate limits
(``count/seconds`` windows), lists of proxies' addresses, webhook URLs, the network's logo file
and accent colours. Like ``identity.settings``, this module imports nothing of ``identity``."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

#: how each rate setting is written, for the message when it is not
GUESSES = "a guessing limit is written like 5/900 (failures/seconds)"
QUESTIONS = "a rate limit is written like 600/60 (questions/seconds)"
EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")
#: a logo's file types, and the content type it is served with
LOGO_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
LOGO_MAX_BYTES = 512 * 1024
#: the backgrounds the accent colour is drawn on (and text on it), light and dark
LIGHT_SURFACE, DARK_SURFACE = "#ffffff", "#1c1c1c"


def webhook_urls(value: str) -> list[str]:
    return [url.strip() for url in value.split(",") if url.strip()]


def proxies(value: str) -> list[str]:
    """The proxies named in a comma-separated list of addresses, networks or ``*`` (empty:
    trust no forwarding header); ValueError names one that is none of these."""
    named = [part.strip() for part in value.split(",") if part.strip()]
    for item in named:
        if item != "*":
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
    return named


def rates(text: str, written: str) -> tuple[tuple[int, int], ...]:
    """A rate setting: ``count/seconds`` windows, comma-separated, all of which must hold
    (``"5/900,20/86400"``), as (count, seconds) pairs; ValueError says how one is ``written``."""
    windows = []
    for part in text.split(","):
        count, _, seconds = part.strip().partition("/")
        if not (count.isdigit() and seconds.isdigit() and int(count) > 0 and int(seconds) > 0):
            raise ValueError(f"{written}, not {part!r}")
        windows.append((int(count), int(seconds)))
    return tuple(windows)


def rate(text: str, written: str) -> tuple[int, int]:
    """A rate setting of one window (``"600/60"``): (count, seconds)."""
    windows = rates(text, written) if "," not in text else ()
    if len(windows) != 1:
        raise ValueError(f"{written}, not {text!r}")
    return windows[0]


def check_logo(value: str) -> str:
    """A logo file the hub can serve (``/brand/logo``): an image of a known type, at most
    ``LOGO_MAX_BYTES``; ValueError says what is wrong with it."""
    if not value:
        return value
    if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
        raise ValueError(
            "HUB_NETWORK_LOGO must be a file on the hub (it is served at /brand/logo), not a "
            f"URL: the pages' Content-Security-Policy loads images from the hub only ({value!r})"
        )
    path = Path(value)
    if path.suffix.lower() not in LOGO_TYPES:
        raise ValueError(f"HUB_NETWORK_LOGO must be an SVG, PNG, WebP or JPEG file, not {value!r}")
    if not path.is_file():
        raise ValueError(f"HUB_NETWORK_LOGO names no file: {value!r}")
    if path.stat().st_size > LOGO_MAX_BYTES:
        raise ValueError(f"HUB_NETWORK_LOGO must be at most {LOGO_MAX_BYTES // 1024} KiB")
    return value


def check_colour(value: str, *, dark: bool) -> str:
    """An accent colour written ``#rrggbb`` whose contrast with the page it is drawn on (and
    the text drawn on it) is at least 4.5:1 (WCAG 1.4.3), in lower case."""
    name = "HUB_NETWORK_COLOUR_DARK" if dark else "HUB_NETWORK_COLOUR"
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"{name} must be written like #0b5394, not {value!r}")
    ratio = contrast(value, DARK_SURFACE if dark else LIGHT_SURFACE)
    if ratio < 4.5:
        surface = "the dark page (#1c1c1c)" if dark else "white"
        raise ValueError(
            f"{name} {value} has a contrast of {ratio:.1f}:1 with {surface}; it needs 4.5:1 "
            "to be read by everyone"
        )
    return value.lower()


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
