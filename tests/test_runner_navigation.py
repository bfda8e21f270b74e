"""helpers.runner.navigation: section numbers, contents and back-to-top links on a rendered page."""

from __future__ import annotations

import re

from helpers.runner.navigation import CONTENTS_MARKER, add_navigation, section_ids

PAGE = f"""<html><head><title>t</title></head><body>
<header id="top"><h1>Report</h1>{CONTENTS_MARKER}</header>
<section><h2 id="summary">Summary</h2></section>
<div><h2 id="Model-fit">Model fit<a class="anchor-link" href="#Model-fit"></a></h2><h3>Sub</h3></div>
<h2>Untitled &amp; plain</h2>
<h2 id="section-3">A heading that already took the next free id</h2>
<section><h2 id="about">About this run</h2></section>
</body></html>"""


def test_sections_are_numbered_and_listed_in_order():
    page = add_navigation(PAGE)
    ids = section_ids(page)
    assert ids[0] == "summary" and ids[-1] == "about" and ids[1] == "Model-fit"
    assert len(ids) == len(set(ids)) == 5
    nav = page[page.index('<nav class="wb-contents"') : page.index("</nav>")]
    links = re.findall(r'<a href="#([^"]+)">([^<]*)</a>', nav)
    assert [a for a, _ in links] == ids
    assert [t for _, t in links][:3] == ["Summary", "Model fit", "Untitled &amp; plain"]
    numbers = re.findall(r'<span class="wb-secnum">(\d+)\.</span>', page)
    assert numbers == ["1", "2", "3", "4", "5"]
    assert CONTENTS_MARKER not in page and "anchor-link" not in page


def test_every_contents_link_and_back_to_top_link_resolves():
    page = add_navigation(PAGE)
    targets = set(re.findall(r'\sid="([^"]+)"', page))
    for href in re.findall(r'href="#([^"]+)"', page):
        assert href in targets, href
    assert page.count('href="#top"') == 5


def test_a_page_without_sections_gets_no_empty_contents():
    page = add_navigation(f"<body><header id='top'>{CONTENTS_MARKER}</header><p>x</p></body>")
    assert "<nav" not in page and CONTENTS_MARKER not in page
