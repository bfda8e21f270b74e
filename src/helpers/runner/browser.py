"""Reports in a real browser: a preview image of each report, and checks of what readers see.

Debian's Chromium is used as it is installed (``apt-get install chromium``), driven by Playwright
for Python (installed by ``make setup``); nothing is downloaded at run or test time. The browser is
found at ``WORKBENCH_CHROMIUM`` when set, else ``/usr/bin/chromium``, else ``chromium`` or
``chromium-browser`` on the PATH. It runs headless with the network off: the context is offline
and every request other than ``file:``, ``data:``, ``blob:`` and ``about:`` is aborted and recorded.

- :meth:`Browser.preview` saves a screenshot of the top of a report (a 1200x800 CSS-pixel window
  rendered at half scale: a 600x400 PNG) as ``preview.png`` beside its ``report.html``; the
  index shows it as the run's thumbnail. Making them during ``workbench run`` is
  :mod:`helpers.runner.previews`' job.
- :func:`check_page` lists, in plain words, what is wrong with a page as a browser shows it:
  console errors and uncaught script errors, dialogs (``alert``) the page opens, images that do not
  decode, in-page links (``href="#..."``, ``#top`` included) whose target does not exist, links to
  local files that do not exist, elements whose right edge passes the window's width (unless a box
  that scrolls or clips them holds them), and any network request the page attempted.
  ``workbench check-reports [DIR]`` runs it on a folder's index and reports.

Usage::

    with Browser() as browser:
        problems = browser.check(Path("reports/clv-cdnow/report.html"))
        browser.preview(Path("reports/clv-cdnow/report.html"))

Playwright is imported only when a browser starts, so importing this module costs nothing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from helpers.core.io import write_atomic
from helpers.core.runfiles import PREVIEW_FILE

CHROMIUM_ENV = "WORKBENCH_CHROMIUM"
PREVIEWS_ENV = "WORKBENCH_PREVIEWS"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
VIEWPORT = (1200, 800)  # CSS pixels of the window pages are checked and previewed in
PREVIEW_SCALE = 0.5  # device pixels per CSS pixel of the preview: 1200x800 -> a 600x400 PNG
LOAD_TIMEOUT_MS = 30_000
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
_LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

INSTALL_CHROMIUM = (
    "Chromium is not installed; install it with `apt-get install chromium` "
    f"(or set {CHROMIUM_ENV} to a Chromium binary)."
)
INSTALL_PLAYWRIGHT = (
    "Playwright for Python is not installed; it comes with `make setup` "
    "(or `pip install playwright`, which needs no browser download)."
)


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing, or the browser would not start; the message says which
    and how to install it."""


def find_chromium() -> str | None:
    """The Chromium to drive: ``WORKBENCH_CHROMIUM`` (a path or a command name), else
    ``/usr/bin/chromium``, else ``chromium`` or ``chromium-browser`` on the PATH; None if none."""
    given = os.environ.get(CHROMIUM_ENV, "").strip()
    if given:
        path = Path(given).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        return shutil.which(given)
    if os.access(DEBIAN_CHROMIUM, os.X_OK):
        return DEBIAN_CHROMIUM
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def has_playwright() -> bool:
    return importlib.util.find_spec("playwright") is not None


def missing() -> str | None:
    """One sentence saying what is missing to drive a browser and how to install it, or None when
    Chromium and Playwright are both there."""
    if not has_playwright():
        return INSTALL_PLAYWRIGHT
    if find_chromium() is None:
        given = os.environ.get(CHROMIUM_ENV, "").strip()
        if given:
            return f"{CHROMIUM_ENV}={given} is not an executable Chromium; install it with `apt-get install chromium`."
        return INSTALL_CHROMIUM
    return None


def previews_enabled() -> bool:
    """False when ``WORKBENCH_PREVIEWS`` is ``0`` (or ``false``, ``no``, ``off``)."""
    return os.environ.get(PREVIEWS_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


# --- the page checks, run in the page ---------------------------------------------------------

_IMAGES_JS = """
async () => {
  const describe = (img) => {
    const src = img.getAttribute('src') || '';
    const what = src.startsWith('data:') ? src.slice(0, src.search(/[;,]/)) + ` (${src.length} characters)`
                                         : (src ? src.slice(0, 120) : '(no src)');
    const alt = (img.getAttribute('alt') || '').trim().slice(0, 60);
    return `<img src="${what}"` + (alt ? ` alt="${alt}"` : '') + '>';
  };
  const imgs = Array.from(document.images);
  for (const img of imgs) { if (img.loading === 'lazy') img.loading = 'eager'; }
  const timeout = (ms) => new Promise((resolve) => setTimeout(() => resolve('timed out'), ms));
  const errors = await Promise.all(imgs.map((img) => Promise.race([
    img.decode().then(() => null, (e) => (e && e.message) || String(e)),
    timeout(10000),
  ])));
  const out = [];
  imgs.forEach((img, i) => {
    if (errors[i] || !img.complete || img.naturalWidth === 0) {
      out.push(`image does not decode: ${describe(img)}` + (errors[i] ? ` (${errors[i]})` : ''));
    }
  });
  return out;
}
"""

_LINKS_JS = """
() => {
  const snippet = (el) => (el.innerText || el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 60);
  const dangling = [];
  const local = [];
  for (const a of document.querySelectorAll('a[href], area[href]')) {
    const href = a.getAttribute('href');
    if (href.startsWith('#')) {
      const raw = href.slice(1);
      if (!raw) continue;  // "#": the top of the page
      let id = raw;
      try { id = decodeURIComponent(raw); } catch (e) {}
      const named = Array.from(document.getElementsByName(id)).some((el) => el.tagName === 'A');
      if (!document.getElementById(id) && !named) dangling.push(`in-page link "${href}" ("${snippet(a)}") has no element with id "${id}"`);
    } else {
      let url = '';
      try { url = new URL(href, document.baseURI).href; } catch (e) { continue; }  // (SVG <a> has no string .href)
      if (url.startsWith('file:')) local.push([url, href, snippet(a)]);
    }
  }
  return [dangling, local];
}
"""

# Elements whose right edge passes the window's width, reported where the overflow starts (the
# element is too wide, its parent is not); elements inside a box that scrolls or clips them
# (overflow-x other than visible, below <body>) are fine, and so is text wrapped inside its box.
# Closed <details> are opened for the check (readers open them); hidden elements are passed over.
_OVERFLOW_JS = """
() => {
  const doc = document.documentElement;
  const limit = doc.clientWidth;
  const sx = window.scrollX;
  const out = [];
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const cls = (typeof el.className === 'string' ? el.className : '').trim().split(/\\s+/).filter(Boolean);
    if (cls.length) s += '.' + cls.slice(0, 3).join('.');
    return s;
  };
  const snippet = (el) => (el.innerText || el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 60);
  const clipping = (el) => el !== document.body && el !== doc && getComputedStyle(el).overflowX !== 'visible';
  const range = document.createRange();
  // why an element is too wide: what still sticks out of it once it is made to fit the window
  // (a word, a code span, an image that cannot shrink), or, if nothing does, the flex or grid item
  // that would not shrink below its content's width
  const cause = (el) => {
    const saved = el.getAttribute('style');
    const left = el.getBoundingClientRect().left + sx;
    el.style.setProperty('max-width', Math.max(0, limit - left) + 'px', 'important');
    el.style.setProperty('min-width', '0', 'important');
    const edge = el.getBoundingClientRect().right;
    let best = null, bestRight = edge + 1;
    for (const d of el.querySelectorAll('*')) {
      if (d.checkVisibility && !d.checkVisibility()) continue;
      const right = d.getBoundingClientRect().right;
      if (right >= bestRight) { best = d; bestRight = right; }
    }
    if (saved === null) el.removeAttribute('style'); else el.setAttribute('style', saved);
    if (best) return `it holds <${name(best)}> ("${snippet(best)}"), which does not fit`;
    const parent = el.parentElement && getComputedStyle(el.parentElement).display;
    if (parent && /flex|grid/.test(parent)) return `a ${parent.includes('grid') ? 'grid' : 'flex'} item that does not shrink below its content's width (min-width: 0 lets it)`;
    return null;
  };
  const visit = (el, parentOver) => {
    if (el.checkVisibility && !el.checkVisibility()) return;  // display: none, or inside something hidden
    const r = el.getBoundingClientRect();
    const over = r.width > 0 && r.right + sx > limit + 1;
    if (over && !parentOver) {
      out.push({el: name(el), text: snippet(el), right: Math.round(r.right + sx), width: Math.round(r.width),
                inner: cause(el)});
    }
    if (clipping(el)) return;  // what it holds scrolls or is clipped inside it
    for (const child of el.childNodes) {
      if (child.nodeType === Node.ELEMENT_NODE) {
        visit(child, over);
      } else if (child.nodeType === Node.TEXT_NODE && !over && child.textContent.trim()) {
        range.selectNodeContents(child);
        const t = range.getBoundingClientRect();
        if (t.width > 0 && t.right + sx > limit + 1) {
          out.push({el: name(el), text: child.textContent.replace(/\\s+/g, ' ').trim().slice(0, 60),
                    right: Math.round(t.right + sx), width: Math.round(t.width), isText: true});
        }
      }
    }
  };
  const closed = Array.from(document.querySelectorAll('details:not([open])'));
  closed.forEach((d) => { d.open = true; });  // what readers see when they open them
  if (document.body) visit(document.body, false);
  const scrollWidth = doc.scrollWidth;
  closed.forEach((d) => { d.open = false; });
  return {limit, scrollWidth, elements: out};
}
"""

MAX_OVERFLOW_NAMED = 8


def _quiet_when_the_driver_is_gone(loop, context: dict) -> None:
    """Ctrl-C stops Playwright's driver too (same process group), which leaves an error nobody
    awaits; Python would print it as it exits, after "interrupted"."""
    if "Connection closed while reading from the driver" not in str(context.get("exception")):
        loop.default_exception_handler(context)


class Browser:
    """One headless Chromium with the network off, for a batch of pages (a context manager).

    Raises :class:`BrowserUnavailable` on start when Chromium or Playwright is missing or the
    browser does not start."""

    def __init__(self, executable: str | None = None, viewport: tuple[int, int] = VIEWPORT):
        self.executable = executable
        self.viewport = viewport
        self.launch_seconds = 0.0
        self._pw = None
        self._browser = None
        self._contexts: dict[float, Any] = {}
        self.blocked: list[str] = []  # every request the network-off route aborted, in order

    # -- life cycle

    def start(self) -> Browser:
        if self._browser is not None:
            return self
        reason = missing() if self.executable is None else (None if has_playwright() else INSTALL_PLAYWRIGHT)
        if reason:
            raise BrowserUnavailable(reason)
        executable = self.executable or find_chromium()
        t0 = time.perf_counter()
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright

        try:
            self._pw = sync_playwright().start()
            self._browser = self._pw.chromium.launch(
                executable_path=executable,
                headless=True,
                args=list(CHROMIUM_ARGS),  # Playwright gives the browser a fresh temporary profile
                timeout=60_000,
            )
        except PlaywrightError as exc:
            self.close()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BrowserUnavailable(f"Chromium ({executable}) did not start: {first}") from None
        except BaseException:
            self.close()
            raise
        loop = getattr(self._pw, "_loop", None)
        if loop is not None:
            loop.set_exception_handler(_quiet_when_the_driver_is_gone)
        self.launch_seconds = time.perf_counter() - t0
        return self

    def close(self) -> None:
        for ctx in self._contexts.values():
            try:
                ctx.close()
            except Exception:
                pass
        self._contexts.clear()
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception:
                pass
            self._browser = None
        if self._pw is not None:
            try:
                self._pw.stop()
            except Exception:
                pass
            self._pw = None

    def __enter__(self) -> Browser:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def version(self) -> str:
        return self.start()._browser.version

    # -- pages

    def _context(self, scale: float):
        ctx = self._contexts.get(scale)
        if ctx is None:
            width, height = self.viewport
            ctx = self.start()._browser.new_context(
                offline=True,
                viewport={"width": width, "height": height},
                device_scale_factor=scale,
                java_script_enabled=True,
                service_workers="block",
                accept_downloads=False,
            )

            def abort(route) -> None:
                self.blocked.append(route.request.url)
                route.abort("blockedbyclient")

            ctx.route(lambda url: not url.startswith(_LOCAL_SCHEMES), abort)
            self._contexts[scale] = ctx
        return ctx

    def new_page(self, scale: float = 1.0):
        """A page of the network-off context at ``scale`` device pixels per CSS pixel."""
        return self._context(scale).new_page()

    def check(self, path: Path, widths: Sequence[int] | None = None) -> list[str]:
        """What is wrong with the page at ``path`` (see :func:`check_page`)."""
        return check_page(self, path, widths)

    def preview(self, report: Path, out: Path | None = None, page=None) -> Path:
        """Save a screenshot of the top of ``report`` (the window, at :data:`PREVIEW_SCALE`) as
        ``out`` (default ``preview.png`` beside it), written atomically."""
        report = Path(report).resolve()
        out = Path(out) if out is not None else report.with_name(PREVIEW_FILE)
        own = page is None
        page = page or self.new_page(PREVIEW_SCALE)
        try:
            page.goto(report.as_uri(), wait_until="load", timeout=LOAD_TIMEOUT_MS)
            png = page.screenshot(type="png", animations="disabled", caret="hide")
        finally:
            if own:
                page.close()
        return write_atomic(out, lambda fh: fh.write(png), binary=True)


def _describe_overflow(result: dict, width: int | None) -> list[str]:
    elements = result["elements"]
    if not elements and result["scrollWidth"] <= result["limit"]:
        return []
    where = f" at a window {width} px wide" if width else ""
    if not elements:
        return [
            f"the page is {result['scrollWidth']} px wide, wider than the window ({result['limit']} px){where}, "
            "but no element's box passes its edge"
        ]
    out = []
    for e in elements[:MAX_OVERFLOW_NAMED]:
        text = f' ("{e["text"]}")' if e["text"] else ""
        what = f"the text of <{e['el']}>" if e.get("isText") else f"element <{e['el']}>"
        inner = f"; {e['inner']}" if e.get("inner") else ""
        out.append(
            f"{what}{text} overflows the page width{where}: its right edge is at {e['right']} px, "
            f"the page is {result['limit']} px wide ({'text' if e.get('isText') else 'element'} {e['width']} px wide)"
            + inner
        )
    if len(elements) > MAX_OVERFLOW_NAMED:
        out.append(f"... and {len(elements) - MAX_OVERFLOW_NAMED} more elements overflow the page width{where}")
    return out


def check_page(browser: Browser, path: Path, widths: Sequence[int] | None = None) -> list[str]:
    """Open ``path`` in ``browser`` (network off) and list what is wrong with it, in plain words:
    console errors, uncaught script errors, dialogs, images that do not decode, in-page links
    without a target, links to local files that do not exist, elements overflowing the page width
    (checked at each of ``widths``, CSS pixels; default the browser's window width) and network
    requests. An empty list means the page passed."""
    path = Path(path).resolve()
    problems: list[str] = []
    if not path.is_file():
        return [f"{path} does not exist"]
    page = browser.new_page(1.0)
    start_blocked = len(browser.blocked)
    requests: list[str] = []
    console: list[tuple[str, str]] = []

    def on_request(request) -> None:
        if not request.url.startswith(_LOCAL_SCHEMES):
            requests.append(request.url)

    def on_console(msg) -> None:
        if msg.type == "error":
            console.append((msg.text, (msg.location or {}).get("url", "")))

    def on_dialog(dialog) -> None:
        problems.append(f"the page opened a {dialog.type} dialog: {dialog.message[:120]!r}")
        try:
            dialog.dismiss()
        except Exception:
            pass

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"script error: {str(exc).strip().splitlines()[0][:200]}"))
    page.on("dialog", on_dialog)
    page.on("websocket", lambda ws: requests.append(ws.url))
    try:
        page.goto(path.as_uri(), wait_until="load", timeout=LOAD_TIMEOUT_MS)
        page.evaluate("document.fonts ? document.fonts.ready.then(() => true) : true")
        problems += page.evaluate(_IMAGES_JS)
        dangling, local = page.evaluate(_LINKS_JS)
        problems += dangling
        for url, href, text in local:
            target = Path(unquote(urlsplit(url).path))
            if not target.exists():
                problems.append(f'link "{href}" ("{text}") points to a file that does not exist: {target}')
        sizes = list(widths) if widths else [None]
        for width in sizes:
            if width is not None:
                page.set_viewport_size({"width": int(width), "height": browser.viewport[1]})
            problems += _describe_overflow(page.evaluate(_OVERFLOW_JS), width)
        page.wait_for_timeout(50)  # let late console messages and requests arrive
    except Exception as exc:
        problems.append(f"the page did not load or could not be checked: {str(exc).strip().splitlines()[0][:200]}")
    finally:
        try:
            page.close()
        except Exception:
            pass
    network = list(dict.fromkeys(requests + browser.blocked[start_blocked:]))
    for text, url in console:
        if url and url in network and "ERR_BLOCKED_BY_CLIENT" in text:
            continue  # the network request below says it more plainly
        problems.append(f"console error: {text[:300]}" + (f" ({url})" if url and url not in text else ""))
    problems += [f"network request attempted (the network is off): {url[:200]}" for url in network]
    return problems


def check_pages(paths: Iterable[Path], widths: Sequence[int] | None = None) -> dict[Path, list[str]]:
    """:func:`check_page` of every page, one browser for all; {path: problems}."""
    with Browser() as browser:
        return {Path(p): browser.check(Path(p), widths) for p in paths}
