"""The documentation cannot drift from the code: every relative link resolves (its #anchor to a heading of
the page, as GitHub names it), and every Python block of the README and the guides runs (on the built-in
corpus, in a scratch folder)."""

import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
RUNNABLE = [ROOT / "README.md", *sorted((ROOT / "docs" / "guide").glob("*.md"))]


def test_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


def prose(page):
    return re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # links and headings inside code are neither


@functools.cache  # a page is parsed once, however many links point into it
def anchors(page):
    """GitHub's ids for the page's headings: lower case, punctuation but hyphens dropped, spaces as hyphens."""
    return {
        re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.*)$", prose(page), re.M)
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(page)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = page.parent / path if path else page
        assert linked.exists(), f"{page.relative_to(ROOT)}: {target} does not resolve"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{page.relative_to(ROOT)}: {target}: no such heading"


def python_blocks(page):
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


@pytest.mark.parametrize("page", [p for p in RUNNABLE if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page, tmp_path, monkeypatch, capsys):
    if "transformers" in page.read_text():
        pytest.importorskip("transformers")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for block in python_blocks(page):  # one namespace per page, as a reader would run them in order
        exec(compile(block, f"{page.name}", "exec"), namespace)
