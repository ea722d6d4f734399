"""The HTML report: self-contained, with a map, a chart, per-area tables and credits."""

from __future__ import annotations

import csv
import re

import pytest

from mineledger import write_report


def _computed_instead(*args, **kwargs):
    raise AssertionError("computed, where the kept figures give it")


@pytest.fixture(scope="module")
def reports(real_store, tmp_path_factory):
    """The reports of both countries, their figures and land tables read from the figures
    kept at each commit (computing them fails here)."""
    from mineledger.land import summary as summary_module
    from mineledger.report import country as report_module

    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_module, "rows_by_admin", _computed_instead)
        patch.setattr(report_module, "record_land", _computed_instead)
        patch.setattr(summary_module, "_land", _computed_instead)
        return {c: write_report(real_store, c, out / c) for c in ("BIH", "COL")}


@pytest.mark.parametrize("country", ["BIH", "COL"])
def test_report_is_self_contained(reports, country):
    html = reports[country].read_text()
    assert not re.search(r'(src|href)="(https?:)?//', html), "the page loads something remote"
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', html)
    assert "Map" in images and len(images) >= 2


def test_bih_report_charts_by_area_because_undated(reports):
    html = reports["BIH"].read_text()
    assert re.findall(r'<img alt="([^"]+)"', html) == ["Map", "By area", "Land release"]
    # the headline is the land still suspected (the ledger's remaining), not the land of every
    # hazard record (806.94 km², in the table beside it under its own name)
    assert "805.80 km²</div><div class=\"l\">remaining: still suspected" in html
    assert "land of the records, distinct (km²)</td><td class=\"n\">806.94" in html
    # BiH's files give no victim records and its incidents no counts of killed or injured
    assert "victims (none recorded)" in html
    assert "civilian / minors</td><td class=\"n\">not recorded / not recorded" in html
    assert "EUFOR BiH and BHMAC" in html and "no licence stated" in html
    assert "geoBoundaries" in html and "CC BY 4.0" in html


def test_col_report_charts_per_year(reports):
    html = reports["COL"].read_text()
    assert "Per year" in re.findall(r'<img alt="([^"]+)"', html)
    assert "CC BY-SA 4.0" in html and "DANE" in html
    assert "victims (counted from the victim records)" in html
    assert "12,364" in html


def test_per_area_csv_rows_add_up(reports, bih_summary):
    folder = reports["BIH"].parent
    for level in (1, 2, 3):
        with open(folder / f"area_by_admin{level}.csv", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        total = sum(float(r["hazard_m2"]) for r in rows)
        # exact at the finest level (the summary's); each coarser level partitions the same
        # land with other polygons, which agrees to well under a square metre per km²
        rel = 1e-12 if level == 3 else 1e-6
        assert total == pytest.approx(bih_summary["hazards"]["distinct_area_m2"], rel=rel)
        assert len(rows) == len({r["code"] for r in rows})
    assert len(rows) == 134 and rows[-1]["code"] == "unassigned"


def test_a_map_frames_land_outside_every_area():
    import matplotlib.pyplot as plt
    import shapely

    from mineledger.report import charts

    fig, ax = plt.subplots()
    area, outside = shapely.box(17.0, 44.0, 17.02, 44.02), shapely.box(17.05, 44.05, 17.051, 44.051)
    charts._frame(ax, [area], [outside])
    assert ax.get_xlim()[1] > 17.051 and ax.get_ylim()[1] > 44.051
    plt.close(fig)


def test_the_report_from_the_kept_figures_equals_the_report_computed(reports, real_store,
                                                                     tmp_path):
    """The report takes its headline figures and land tables from the figures kept at each
    commit (the fixture); computed from the records instead, every table is the same to the
    last digit, and so is the page but for the instant it was computed at."""
    kept = reports["BIH"].parent
    computed = write_report(real_store, "BIH", tmp_path / "computed", stored=False).parent
    names = sorted(p.name for p in kept.iterdir())
    assert names == sorted(p.name for p in computed.iterdir())
    assert "landrelease_admin3.csv" in names and "area_by_admin3.csv" in names
    for name in names:
        if name.endswith(".csv"):
            assert (kept / name).read_bytes() == (computed / name).read_bytes(), name

    def page(folder):
        return re.sub(r"Computed \S+ \(UTC\)", "", (folder / "index.html").read_text())

    assert page(kept) == page(computed)
