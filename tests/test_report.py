"""`snakemake --report` of the end-to-end run, opened in headless Chromium: the page loads
without errors and every figure of every category renders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import snakemake
from playwright.sync_api import Page, sync_playwright

from facebench.analysis.figures import REPORT_CATEGORY

# Without the background-networking flags Chromium keeps dialling Google's hosts, which a
# closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("FACEBENCH_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("no Chromium: `make browser` installs Debian's (or set FACEBENCH_CHROMIUM)")
    return path


@pytest.fixture(scope="module")
def report_html(workflow_dir: Path) -> Path:
    result = snakemake(workflow_dir, workflow_dir / "config.yaml", "--report", "report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    return workflow_dir / "report.html"


@pytest.fixture(scope="module")
def page_errors() -> list[str]:
    return []


@pytest.fixture(scope="module")
def page(report_html: Path, page_errors: list[str], tmp_path_factory):
    """The report in headless Chromium (a fresh profile); its script errors go to page_errors."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path(),
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        page = browser.new_page()
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.goto(report_html.as_uri())
        yield page
        browser.close()


def _shown_image_size(page: Page, figure: str) -> tuple[int, int]:
    image = page.locator(f'img[src*="filename={figure};"]')
    image.wait_for(timeout=10_000)
    return image.evaluate("i => [i.naturalWidth, i.getBoundingClientRect().width]")


def test_report_describes_the_workflow(page, page_errors):
    assert "facebench reproduces" in page.inner_text("body")
    assert page_errors == []


def test_every_figure_renders(page, page_errors, workflow_dir):
    drawn = {p.stem for p in (workflow_dir / "results" / "figures").glob("*.svg")}
    assert drawn == set(REPORT_CATEGORY)
    for category in dict.fromkeys(REPORT_CATEGORY.values()):
        page.get_by_text(category, exact=True).first.click()
        for figure in [name for name, cat in REPORT_CATEGORY.items() if cat == category]:
            page.locator("tr", has_text=f"{figure}.svg").locator("a[iconname=eye]").click()
            natural, shown = _shown_image_size(page, f"{figure}.svg")
            assert natural > 100 and shown > 100, (category, figure, natural, shown)
        page.locator("nav a", has_text="Results").click()
    assert page_errors == []


def _shown_table_rows(page: Page, category: str, name: str) -> int:
    """Rows of the HTML table ``name`` once the report shows it (in a frame of its own)."""
    page.get_by_text(category, exact=True).first.click()
    page.locator("tr", has_text=name).locator("a[iconname=eye]").click()
    page.wait_for_selector(f'iframe[src*="filename={name};"]', timeout=10_000)
    frame = next(f for f in page.frames if f"filename={name};" in f.url)
    rows = frame.locator("tbody tr").count()
    page.locator("nav a", has_text="Results").click()
    return rows


def test_claims_and_tables_render(page, page_errors, workflow_dir):
    assert _shown_table_rows(page, "Paper vs ours", "claims.html") == 12
    table6 = (workflow_dir / "results" / "tables" / "table6.csv").read_text().splitlines()
    assert _shown_table_rows(page, "Tables", "table6.html") == len(table6) - 1
    assert page_errors == []
