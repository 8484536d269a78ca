"""`snakemake --report report.html` of the end-to-end run, as a user types it (no --cores: the
default profile sets them), opened in headless Chromium: the page loads without errors and every
figure of every category renders, found by its labels."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BIN, REPO_ROOT
from helpers import require_or_skip, run_in_own_group
from playwright.sync_api import BrowserContext, Locator, Page, sync_playwright

from facebench.report_entries import FIGURE_CATEGORY, figure_labels, table_labels

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


@pytest.fixture(scope="session", autouse=True)
def chromium() -> str:
    """The browser's path (before the workflow run it needs: autouse, session scope); without
    one the tests skip, or fail when FACEBENCH_REQUIRE lists chromium."""
    path = os.environ.get("FACEBENCH_CHROMIUM") or shutil.which("chromium")
    if not path or not os.access(path, os.X_OK):
        require_or_skip(
            "chromium",
            f"no Chromium at {path or 'chromium on the PATH'}: `make browser` installs "
            "Debian's (or set FACEBENCH_CHROMIUM)",
        )
    return path


@pytest.fixture(scope="module")
def report_html(workflow_dir: Path) -> Path:
    """The report, built by `snakemake --report report.html` with no --cores or --profile flag
    (only the run's directory and config, which a user has in place)."""
    command = [
        str(BIN / "snakemake"),
        *("--snakefile", str(REPO_ROOT / "workflow" / "Snakefile")),
        *("--directory", str(workflow_dir)),
        *("--configfile", str(workflow_dir / "config.yaml")),
        *("--report", "report.html"),
    ]
    result = run_in_own_group(command, timeout_s=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return workflow_dir / "report.html"


@pytest.fixture(scope="module")
def browser(chromium: str, tmp_path_factory) -> Iterator[BrowserContext]:
    """Headless Chromium (a fresh profile), shared by the module's tests: each opens its own
    page."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def page_errors() -> list[str]:
    """The script errors, console errors and failed requests of this test's page."""
    return []


@pytest.fixture
def page(browser: BrowserContext, report_html: Path, page_errors: list[str]) -> Iterator[Page]:
    """The report in a page of its own, opened for this test alone; its script errors, console
    errors and failed requests (of the page and its frames) go to page_errors."""
    page = browser.new_page()
    page.on(
        "console",
        lambda m: page_errors.append(f"console: {m.text}") if m.type == "error" else None,
    )
    page.on("requestfailed", lambda r: page_errors.append(f"request failed: {r.url}: {r.failure}"))
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(report_html.as_uri())
    yield page
    page.close()


def _result_row(page: Page, labels: dict[str, str]) -> Locator:
    """The row of the shown results table with a cell equal to each of ``labels``' values."""
    row = page.locator("tr")
    for value in labels.values():
        row = row.filter(has=page.locator("td", has_text=re.compile(f"^{re.escape(value)}$")))
    return row


def _shown_image_size(page: Page, figure: str) -> tuple[int, int]:
    image = page.locator(f'img[src*="filename={figure};"]')
    image.wait_for(timeout=10_000)
    return image.evaluate("i => [i.naturalWidth, i.getBoundingClientRect().width]")


def test_report_describes_the_workflow(page, page_errors):
    assert "facebench reproduces" in page.inner_text("body")
    assert page_errors == []


def test_every_figure_renders(page, page_errors, workflow_dir):
    drawn = {p.stem for p in (workflow_dir / "results" / "figures").glob("*.svg")}
    assert drawn == set(FIGURE_CATEGORY)
    for category in dict.fromkeys(FIGURE_CATEGORY.values()):
        page.get_by_text(category, exact=True).first.click()
        for figure in [name for name, cat in FIGURE_CATEGORY.items() if cat == category]:
            _result_row(page, figure_labels(figure)).locator("a[iconname=eye]").click()
            natural, shown = _shown_image_size(page, f"{figure}.svg")
            assert natural > 100 and shown > 100, (category, figure, natural, shown)
        page.locator("nav a", has_text="Results").click()
    assert page_errors == []


def _shown_table_rows(page: Page, category: str, name: str, labels: dict[str, str]) -> int:
    """Rows of the HTML table ``name`` (its row in the report: ``labels``) once the report
    shows it (in a frame of its own)."""
    page.get_by_text(category, exact=True).first.click()
    _result_row(page, labels).locator("a[iconname=eye]").click()
    page.wait_for_selector(f'iframe[src*="filename={name};"]', timeout=10_000)
    frame = next(f for f in page.frames if f"filename={name};" in f.url)
    rows = frame.locator("tbody tr").count()
    page.locator("nav a", has_text="Results").click()
    return rows


def _extra_figures_render(page, category: str, names: tuple[str, ...]) -> None:
    """Each extra figure ``names`` of report ``category`` opens and is drawn at a real size
    (its report subject: the name with spaces for underscores)."""
    page.get_by_text(category, exact=True).first.click()
    for name in names:
        labels = {"figure": "extra", "subject": name.replace("_", " ")}
        _result_row(page, labels).locator("a[iconname=eye]").click()
        natural, shown = _shown_image_size(page, f"{name}.svg")
        assert natural > 100 and shown > 100, (name, natural, shown)
    page.locator("nav a", has_text="Results").click()


def test_strategies_and_serving_render(page, page_errors, workflow_dir):
    """The cloud/edge/hybrid and serving figures and tables are in the report (with their
    not-measured message where this host cannot emulate links)."""
    strategies = workflow_dir / "results" / "strategies"
    _extra_figures_render(
        page,
        "Cloud vs edge vs hybrid",
        ("strategies_latency", "strategies_bandwidth", "strategies_accuracy"),
    )
    _extra_figures_render(
        page,
        "One server, many cameras",
        ("serving_throughput", "serving_latency", "serving_breakdown"),
    )
    table2 = (strategies / "table2.csv").read_text().splitlines()
    rows = _shown_table_rows(
        page, "Cloud vs edge vs hybrid", "table2.html", {"table": "strategies table2"}
    )
    assert rows == len(table2) - 1
    assert page_errors == []


def test_open_set_renders(page, page_errors, workflow_dir):
    """The open-set figures (DET, distances, rates, minimum face size; the accuracy set's DET
    curves and minimum face size) and tables are in the report."""
    _extra_figures_render(
        page,
        "Open-set identification",
        ("det", "distances", "rates", "min_face", "video_det", "video_det_sizes", "video_min_face"),
    )
    openset = (workflow_dir / "results" / "openset" / "openset.csv").read_text().splitlines()
    rows = _shown_table_rows(page, "Open-set identification", "openset.html", {"table": "openset"})
    assert rows == len(openset) - 1
    assert page_errors == []


def test_claims_and_tables_render(page, page_errors, workflow_dir):
    assert _shown_table_rows(page, "Paper vs ours", "claims.html", {"table": "claims"}) == 12
    table6 = (workflow_dir / "results" / "tables" / "table6.csv").read_text().splitlines()
    labels = table_labels("table6")
    assert _shown_table_rows(page, "Tables", "table6.html", labels) == len(table6) - 1
    missing = (workflow_dir / "results" / "missing.csv").read_text().splitlines()
    labels = table_labels("missing")
    assert _shown_table_rows(page, "Tables", "missing.html", labels) == len(missing) - 1
    assert page_errors == []
