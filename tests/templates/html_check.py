"""A small HTML structure checker for rendered templates (stdlib html.parser only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID_ELEMENTS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


@dataclass
class Form:
    action: str | None
    method: str | None
    hidden: dict[str, str] = field(default_factory=dict)


@dataclass
class HtmlReport:
    errors: list[str] = field(default_factory=list)
    lang: str | None = None
    links: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    label_targets: set[str] = field(default_factory=set)
    # (tag, id) of every visible form control
    controls: list[tuple[str, str | None]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.report = HtmlReport()
        self._stack: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._record(tag, dict(attrs))
        if tag not in VOID_ELEMENTS:
            self._stack.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._record(tag, dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        if tag in VOID_ELEMENTS:
            self.report.errors.append(f"line {line}: end tag for void element </{tag}>")
            return
        if not self._stack:
            self.report.errors.append(f"line {line}: </{tag}> closes nothing")
            return
        opened, opened_at = self._stack.pop()
        if opened != tag:
            self.report.errors.append(
                f"line {line}: </{tag}> closes <{opened}> opened on line {opened_at}"
            )

    def close(self) -> None:
        super().close()
        for tag, line in self._stack:
            self.report.errors.append(f"<{tag}> opened on line {line} is never closed")

    def _record(self, tag: str, attrs: dict[str, str | None]) -> None:
        report = self.report
        if "id" in attrs and attrs["id"]:
            report.ids.append(attrs["id"])
        if tag == "html":
            report.lang = attrs.get("lang")
        elif tag == "a" and attrs.get("href"):
            report.links.append(attrs["href"] or "")
        elif tag == "form":
            report.forms.append(Form(action=attrs.get("action"), method=attrs.get("method")))
        elif tag == "label" and attrs.get("for"):
            report.label_targets.add(attrs["for"] or "")
        elif tag == "input" and attrs.get("type") == "hidden" and report.forms:
            report.forms[-1].hidden[attrs.get("name") or ""] = attrs.get("value") or ""
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            report.controls.append((tag, attrs.get("id")))


def check_html(source: str) -> HtmlReport:
    """Parse `source`: every non-void start tag must be closed, in order."""
    checker = _Checker()
    checker.feed(source)
    checker.close()
    return checker.report
