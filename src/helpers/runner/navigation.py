"""Section numbers, a table of contents and back-to-top links for a rendered report page.

A report's sections are its ``<h2>`` headings in page order: the notebook's ``##`` Markdown
headings, the summary that :func:`helpers.reporting.summary` writes (``id="summary"``) and the
runner's "About this run" (``id="about"``). After nbconvert has rendered the page, every such
heading gets an ``id`` (its own, else ``section-N``), a number and a link back to the top
(``#top``, the page header), and the contents list replaces the ``<!--wb-contents-->`` marker
in the header. Works on the HTML text the workbench's own templates produce; standard library
only.
"""

from __future__ import annotations

import html
import re

CONTENTS_MARKER = "<!--wb-contents-->"

_H2 = re.compile(r"<h2(?P<attrs>(?:\s[^>]*)?)>(?P<inner>.*?)</h2>", re.S | re.I)
_ID = re.compile(r"""\sid\s*=\s*(["'])(?P<id>.*?)\1""", re.S | re.I)
_ANCHOR = re.compile(r"<a\b[^>]*class=[\"']anchor-link[\"'][^>]*>.*?</a>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def _text(inner: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", _ANCHOR.sub("", inner))).split())


def add_navigation(page: str) -> str:
    """``page`` with numbered sections, back-to-top links and its contents list (see the
    module docstring). A page without the marker gets numbers and links but no list."""
    body_start = page.find("<body")
    head, body = (page[:body_start], page[body_start:]) if body_start >= 0 else ("", page)
    sections: list[tuple[str, str]] = []
    used: set[str] = {m.group("id") for m in _ID.finditer(body)}

    def number(match: re.Match[str]) -> str:
        attrs, inner = match.group("attrs"), match.group("inner")
        found = _ID.search(attrs)
        if found:
            anchor = found.group("id")
        else:
            n = len(sections) + 1
            anchor = f"section-{n}"
            while anchor in used:
                n += 1
                anchor = f"section-{n}"
            used.add(anchor)
            attrs = f' id="{anchor}"' + attrs
        title = _text(inner)
        sections.append((anchor, title))
        inner = _ANCHOR.sub("", inner)
        return (
            f'<h2{attrs}><span class="wb-secnum">{len(sections)}.</span> {inner}'
            f'<a class="wb-top" href="#top">Back to top</a></h2>'
        )

    body = _H2.sub(number, body)
    if sections:
        items = "".join(f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>' for a, t in sections)
        contents = f'<nav class="wb-contents" aria-label="Contents"><p>Contents</p><ol>{items}</ol></nav>'
    else:
        contents = ""
    body = body.replace(CONTENTS_MARKER, contents, 1)
    return head + body


def section_ids(page: str) -> list[str]:
    """The ids of the page's sections, in order (for tests and checks)."""
    return [m.group("id") for h in _H2.finditer(page) if (m := _ID.search(h.group("attrs")))]
