"""The report in a real Chromium, opened from disk: no console errors, every chart drawn, sorting, 1280 px."""

from _browser import launch, needs_chromium, record_errors
from _report_fixtures import report_workspace

from fvc.report import build_report

pytestmark = needs_chromium

ROWS = "Array.from(document.querySelectorAll('#cmp tbody tr'))"


def _column(page, key: str) -> list[str]:
    """The data-v of column ``key`` (by header text) in the rows' current order."""
    return page.evaluate(
        f"""k => {{ const i = Array.from(document.querySelectorAll('#cmp thead th')).findIndex(h => h.innerText.trim()
             .replace(/[\\u25B2\\u25BC]/g, '').trim() === k);
           return {ROWS}.map(r => r.cells[i].getAttribute('data-v')); }}""", key)


def test_report_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    path, _ = build_report(report_workspace(tmp_path / "ws"), n_boot=200)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = record_errors(page)
        page.on("request", lambda r: errors.append(f"network: {r.url}") if not r.url.startswith(("file:", "data:"))
                else None)
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.chart .main-svg').length >= 6", timeout=30_000)

        # every chart drew its traces: lines for curves, bars for importances
        drawn = page.evaluate("""Array.from(document.querySelectorAll('.chart')).map(d =>
            [d.id, d.querySelectorAll('.scatterlayer .trace path.js-line, .barlayer .point path').length,
             (d.data || []).length])""")
        assert len(drawn) == 6
        for chart_id, marks, traces in drawn:
            assert marks >= 2 and traces >= 1, (chart_id, marks, traces)
        legend = page.evaluate("document.querySelector('#chart-roc .legend').textContent")
        assert "5b (AUC 1.000)" in legend and "chance (AUC 0.500)" in legend

        # initial order: ROC-AUC, highest first
        auc = [float(v) for v in _column(page, "ROC-AUC")]
        assert auc == sorted(auc, reverse=True)
        # click PR-AUC: highest first; again: lowest first
        page.click("#cmp thead th:has-text('PR-AUC') button")
        pr = [float(v) for v in _column(page, "PR-AUC")]
        assert pr == sorted(pr, reverse=True) and pr[0] > pr[-1]
        page.click("#cmp thead th:has-text('PR-AUC') button")
        assert [float(v) for v in _column(page, "PR-AUC")] == sorted(pr)
        # a text column sorts as text, also behind the toggle
        page.check("#all-columns")
        assert page.is_visible("#cmp thead th:has-text('config')")
        page.click("#cmp thead th:has-text('config') button")
        assert _column(page, "config") == sorted(_column(page, "config"))

        # fits 1280 px: the page never scrolls sideways; the compact table fits whole
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        page.uncheck("#all-columns")
        assert page.evaluate("document.getElementById('cmp').getBoundingClientRect().right") <= 1280
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        # every image has a description
        assert page.evaluate("Array.from(document.images).every(i => i.alt.length > 10 && i.naturalWidth > 0)")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert not errors, errors
