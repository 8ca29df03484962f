"""What a person reads on a page: its visible text, without markup, scripts or attributes."""

from __future__ import annotations

from html.parser import HTMLParser


class _Text(HTMLParser):
    HIDDEN = frozenset({"script", "style", "title", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """The page's text as read, each run of white space one space."""
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())
