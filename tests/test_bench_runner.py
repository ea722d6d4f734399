"""The benchmark runner's table and results: a row without baseline (the store's
preparation), a target judged at M, growth from the size before, and the docs' results section
written from the results files with the prose around it kept."""

from __future__ import annotations

import json

from benchmarks.run import BEGIN, END, WORKLOADS, markdown, write_docs


def _row(size, workload, seconds, **kw):
    return {"size": size, "backend": "gpkg", "workload": workload, "seconds": seconds,
            "peak_mb": 889, "rows": 100000, "baseline": None, "baseline_seconds": None,
            "ratio": None, **kw}


def test_rows_with_and_without_a_baseline_render_with_their_target_and_growth():
    rows = [
        _row("L", "prepare (all six files)", 1542.4, peak_mb=5862),
        _row("M", "import", 13.97, baseline="raw pyogrio read + write", baseline_seconds=1.11,
             baseline_peak_mb=500, ratio=12.59, target="≤ 3×", met=False),
        _row("S", "import", 1.75, baseline="raw pyogrio read + write", baseline_seconds=0.14,
             baseline_peak_mb=300, ratio=12.5),
        _row("L", "import", 170.74, baseline="raw pyogrio read + write", baseline_seconds=13.67,
             baseline_peak_mb=1737, ratio=12.49),
    ]
    lines = markdown(rows).splitlines()
    assert lines[2] == "| prepare (all six files) | gpkg | L | 1542.40 |  |  |  | 5,862 |  |  |"
    # sorted by workload, then size; growth from the size before (13.97 / 1.75 = 7.98)
    assert lines[3] == "| import | gpkg | S | 1.75 | 0.14 | 12.50× |  | 889 | 300 |  |"
    assert lines[4] == ("| import | gpkg | M | 13.97 | 1.11 | 12.59× | S→M 8.0× | 889 | 500 | "
                        "≤ 3× ✗ |")
    # 170.74 / 13.97 = 12.2: beyond the 11× bound
    assert lines[5] == ("| import | gpkg | L | 170.74 | 13.67 | 12.49× | M→L 12.2× ✗ | 889 | "
                        "1,737 |  |")
    assert WORKLOADS[0] == "import" and WORKLOADS[-1] == "report"
    assert {"startup", "ledger-admin2", "ledger-year", "summary"} <= set(WORKLOADS)


def test_the_docs_results_section_is_written_from_the_results_files(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    doc = {"machine": {"cpus": 2, "cpu": "AMD EPYC", "memory_gb": 23.5, "python": "3.11.7"},
           "commit": "abc1234", "date": "2026-12-05T22:00:00Z", "conditions": "2 vCPU shared",
           "rows": [_row("S", "ledger-admin2", 6.0, baseline="STRtree clip", baseline_seconds=3.0,
                         ratio=2.0, result_m2=3.0e9, baseline_result_m2=3.0e9 + 300,
                         result_rel_diff=1.0e-7)]}
    (results / "S-gpkg.json").write_text(json.dumps(doc), encoding="utf-8")
    (results / "S-gpkg.partial.json").write_text(json.dumps({"rows": []}), encoding="utf-8")
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Before\n\nprose\n\n{BEGIN}\nold table\n{END}\n\nafter\n", encoding="utf-8")
    write_docs(page, results)
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Before\n\nprose\n\n") and text.endswith(f"{END}\n\nafter\n")
    assert "old table" not in text
    assert "| `benchmarks/results/S-gpkg.json` | `abc1234` | 2026-12-05T22:00:00Z | 2 × AMD EPYC" in text
    assert "| ledger-admin2 | gpkg | S | 6.00 | 3.00 | 2.00× |  | 889 |  |  |" in text
    assert "| ledger-admin2 | gpkg | S | 3,000,000,000 | 3,000,000,300 | 1.0e-07 |" in text
    assert "Conditions: 2 vCPU shared." in text
    write_docs(page, results)  # again: the same page
    assert page.read_text(encoding="utf-8") == text
