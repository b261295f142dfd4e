"""The README fits a newcomer's first screens and every page it leads to is there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

# A README a newcomer reads in one sitting; the rest lives in docs/ by topic.
README_MAX_LINES = 250
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_the_readme_fits_on_a_screen_or_two() -> None:
    assert len((REPO / "README.md").read_text().splitlines()) <= README_MAX_LINES


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_and_image_leads_somewhere(page: Path) -> None:
    targets = re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", page.read_text())
    missing = [target for target in targets if not (page.parent / target).exists()]
    assert not missing, missing


def test_the_readme_figure_is_a_png_the_lab_drew() -> None:
    figure = REPO / "docs" / "images" / "qps-by-stage.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](docs/images/qps-by-stage.png)" in (REPO / "README.md").read_text()
