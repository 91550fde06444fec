"""The report in a real Chromium, opened from disk: no console errors, every chart drawn, sorting, 1280 px."""

from _browser import launch, needs_chromium, record_errors
from _report_fixtures import report_workspace, write_ablation

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

    ws = report_workspace(tmp_path / "ws")
    write_ablation(ws)
    path, _ = build_report(ws, n_boot=200)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = record_errors(page)
        page.on("request", lambda r: errors.append(f"network: {r.url}") if not r.url.startswith(("file:", "data:"))
                else None)
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.chart .main-svg').length >= 7", timeout=30_000)

        # every chart drew its traces: lines for curves, bars for importances, the ablation's heat map
        drawn = page.evaluate("""Array.from(document.querySelectorAll('.chart')).map(d =>
            [d.id, d.querySelectorAll('.scatterlayer .trace path.js-line, .barlayer .point path, .heatmaplayer image')
             .length + (d.querySelectorAll('.heatmaplayer image').length ? 1 : 0), (d.data || []).length])""")
        assert len(drawn) == 7 and "chart-ablation" in [d[0] for d in drawn]
        for chart_id, marks, traces in drawn:
            assert marks >= 2 and traces >= 1, (chart_id, marks, traces)
        # the ablation: one row per variant; the heat map's cells say what each family adds per kind
        assert page.is_visible("#ablation-table")
        rows = page.evaluate("""Array.from(document.querySelectorAll('#ablation-table tbody tr')).map(r =>
            Array.from(r.cells).map(c => c.innerText.trim()))""")
        heads = page.evaluate("Array.from(document.querySelectorAll('#ablation-table thead th')).map(h => h.innerText)")
        assert [r[0] for r in rows] == ["all", "without noise", "without lnoise", "only noise", "only lnoise"]
        table = {r[0]: dict(zip(heads, r)) for r in rows}
        assert table["only lnoise"]["splice"] == "1.000" and table["only lnoise"]["cgi"] == "0.500"
        assert table["without noise"]["overlay"] == "0.500" and table["all"]["overall"] == "0.950"
        gain = page.evaluate("document.getElementById('chart-ablation').data[0]")
        fams, kinds = gain["y"], gain["x"]
        assert fams == ["noise", "lnoise"] and kinds[0] == "overall"
        assert gain["z"][0][kinds.index("cgi")] == 0.5 and gain["z"][1][kinds.index("cgi")] == 0.0
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
