"""Text from data, made safe for a report.

A report sentence is Markdown written by the project (a narrative helper or the notebook); the
values in it (a column name, a file name, a reason a row was set aside, a customer id) come from
data and are never trusted: a column called ``<img src=x onerror=alert(6)>`` or a file called
``[x](javascript:alert(1)).csv`` must show as those characters and do nothing.

- :func:`esc` makes one value literal text for Markdown *and* HTML (every character either
  language gives a meaning to is backslash-escaped, line breaks become spaces);
- :func:`fill` puts escaped values into a trusted template's ``{}`` placeholders (format specs
  such as ``{:,.0f}`` apply to the value first, then the result is escaped);
- :func:`markdown_html` renders a sentence to HTML without raw HTML (escaped, not passed
  through) and without ``javascript:``/``data:``/``vbscript:`` links, then :func:`sanitize_html`
  keeps only a short list of presentational tags and attributes: the second line of defence,
  for a value a helper forgot to escape.

Pure functions; mistune and bleach (both required by nbconvert) are imported on use.
"""

from __future__ import annotations

import re
import string
from typing import Any

__all__ = ["esc", "fill", "markdown_html", "sanitize_html"]

#: ASCII punctuation that Markdown (CommonMark, GFM tables and strikethrough, math) or HTML
#: give a meaning to; each may be backslash-escaped in CommonMark and then shows as itself.
_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&$:=\"'@^])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def esc(value: Any) -> str:
    """``value`` as literal text inside a Markdown sentence (and so inside the HTML made from it).

    >>> esc("<img src=x onerror=alert(6)>")
    '\\\\<img src\\\\=x onerror\\\\=alert\\\\(6\\\\)\\\\>'
    """
    text = _LINE_BREAKS.sub(" ", str(value))
    return _ACTIVE.sub(r"\\\1", text)


class _EscapingFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        return esc(format(value, format_spec))


_FORMATTER = _EscapingFormatter()


def fill(template: str, *values: Any, **named: Any) -> str:
    """``template.format(*values, **named)`` with every value escaped by :func:`esc`.

    The template is trusted Markdown (``**bold**``, code spans, links the project writes); the
    values are data. ``fill("Column {} has {:,} missing values.", name, n)``."""
    return _FORMATTER.format(template, *values, **named)


#: Tags a report output may keep: text structure, emphasis, lists, tables. No scripts, frames,
#: forms, images, styles, SVG or MathML.
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details",
        "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre",
        "s", "samp", "section", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": ["class", "title", "role", "lang", "dir"],
    "a": ["href", "title", "class"],
    "abbr": ["title"],
    "table": ["border", "class"],
    "td": ["colspan", "rowspan", "align", "class", "style"],
    "th": ["colspan", "rowspan", "align", "class", "style", "scope"],
    "tr": ["class", "style"],
    "col": ["span", "class"],
    "ol": ["start", "class"],
    "h2": ["id", "class"],  # section anchors (helpers.reporting.summary): the contents link to them
    "section": ["id", "class"],
}
#: Link schemes kept (relative links and ``#anchors`` are kept too); everything else, such as
#: ``javascript:``, ``vbscript:`` and ``data:``, is removed with the attribute.
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
ALLOWED_CSS = frozenset({"text-align", "vertical-align", "white-space", "font-weight", "font-style"})

_markdown = None
_css = None


def sanitize_html(html: str) -> str:
    """``html`` with only :data:`ALLOWED_TAGS` kept as markup (anything else, e.g. ``<script>``,
    ``<iframe>``, ``<img>``, shows as text), only :data:`ALLOWED_ATTRIBUTES` (no ``on*`` event
    handlers), only :data:`ALLOWED_PROTOCOLS` in links, comments removed."""
    global _css
    import bleach

    if _css is None:
        from bleach.css_sanitizer import CSSSanitizer

        _css = CSSSanitizer(allowed_css_properties=ALLOWED_CSS)
    return bleach.clean(
        str(html),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        css_sanitizer=_css,
        strip=False,
        strip_comments=True,
    )


def markdown_html(text: str) -> str:
    """A Markdown sentence as safe HTML: raw HTML in it is shown as text, unsafe links are
    disarmed, and the result goes through :func:`sanitize_html`."""
    global _markdown
    if _markdown is None:
        import mistune

        _markdown = mistune.create_markdown(escape=True, plugins=["strikethrough", "table"])
    return sanitize_html(_markdown(str(text)))
