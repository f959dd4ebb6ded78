"""Every page in public/ is well-formed HTML: each element closed in the order it was opened (the pages
close even the tags HTML lets one leave open), no id twice, and every label, aria-labelledby and
aria-describedby names an id that is on the page. A section left open once put the passkeys and linked
sign-ins inside the two-factor panel of the dashboard."""

from html.parser import HTMLParser
from pathlib import Path

import pytest

PUBLIC_DIR = Path(__file__).resolve().parent.parent / "public"
PAGES = sorted(path.name for path in PUBLIC_DIR.glob("*.html"))
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class PageChecker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open = []  # (tag, line) of the elements not closed yet
        self.ids = {}
        self.references = []  # (attribute, id, line)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        values = dict(attrs)
        if "id" in values:
            if values["id"] in self.ids:
                self.problems.append(f"line {line}: id {values['id']!r} again (first on line {self.ids[values['id']]})")
            self.ids.setdefault(values["id"], line)
        if tag == "label" and values.get("for"):
            self.references.append(("for", values["for"], line))
        for name in ("aria-labelledby", "aria-describedby", "aria-controls"):
            for target in (values.get(name) or "").split():
                self.references.append((name, target, line))
        if tag not in VOID:
            self.open.append((tag, line))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.problems.append(f"line {self.getpos()[0]}: <{tag} /> is not a void element")
            self.open.pop()

    def handle_endtag(self, tag):
        line = self.getpos()[0]
        if tag in VOID:
            self.problems.append(f"line {line}: </{tag}> closes a void element")
        elif not self.open:
            self.problems.append(f"line {line}: </{tag}> closes nothing")
        elif self.open[-1][0] != tag:
            opened, at = self.open[-1]
            self.problems.append(f"line {line}: </{tag}> while <{opened}> of line {at} is still open")
            if any(name == tag for name, _ in self.open):  # close up to it, so one mistake is reported once
                while self.open.pop()[0] != tag:
                    pass
        else:
            self.open.pop()

    def check(self, text: str) -> list[str]:
        self.feed(text)
        self.close()
        problems = list(self.problems)
        problems += [f"line {line}: <{tag}> is never closed" for tag, line in self.open]
        problems += [f"line {line}: {name}={target!r} names no id on the page"
                     for name, target, line in self.references if target not in self.ids]  # fmt: skip
        return problems


@pytest.mark.parametrize("name", PAGES)
def test_every_page_is_well_formed(name):
    text = (PUBLIC_DIR / name).read_text(encoding="utf-8")
    assert text.lower().startswith("<!doctype html>")
    assert PageChecker().check(text) == []


def test_the_checker_finds_an_unclosed_section_and_a_duplicate_id():
    page = """<!doctype html><html><body><main id="m">
      <section id="a"><h2 id="t">A</h2><p>one</p>
      <section id="b" aria-labelledby="nothing"><p id="t">two</p></section>
    </main></body></html>"""
    problems = PageChecker().check(page)
    assert any("</main> while <section> of line 2 is still open" in p for p in problems), problems
    assert any("id 't' again" in p for p in problems) and any("'nothing' names no id" in p for p in problems)


def test_every_page_is_checked():
    assert {"index.html", "dashboard.html", "admin.html", "signup.html", "forgot.html", "reset.html"} <= set(PAGES)
