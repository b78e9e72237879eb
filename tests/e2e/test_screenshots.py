"""Every page at a phone's, a laptop's and a wall screen's width, light and dark: nothing wider than the screen,
and a full-page screenshot of each, to look at (into the test's tmp folder, or SCREENSHOT_DIR to keep them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.site_pages import build_pages, logged_out_pages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTHS = {390: 844, 1440: 900, 1920: 1080}
SCHEMES = ("light", "dark")

# How far the page is wider than its window (0 when nothing makes it scroll sideways).
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "screens")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready")


def test_every_page_fits_every_screen_light_and_dark(admin_user, commander, responder, viewer, new_page, shots):
    pages = build_pages(admin_user, commander, responder)
    too_wide: list[str] = []
    taken = 0
    for scheme in SCHEMES:
        for width, height in WIDTHS.items():
            visits = [(None, pages), (viewer, [("forbidden", "/incidents/declare/")]), (False, logged_out_pages())]
            for who, paths in visits:
                page = new_page(admin_user if who is None else (who or None), color_scheme=scheme, width=width,
                                height=height)
                for name, path in paths:
                    page.goto(path)
                    _settle(page)
                    if (extra := page.evaluate(OVERFLOW)) > 0:
                        too_wide.append(f"{name} at {width} ({scheme}): {extra} px too wide")
                    page.screenshot(path=str(shots / f"{name}-{width}-{scheme}.png"), full_page=True)
                    taken += 1
                page.context.close()
    assert taken == len(SCHEMES) * len(WIDTHS) * (len(pages) + 2)
    assert too_wide == []
