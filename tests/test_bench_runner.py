"""The benchmark runner's table: a row without baseline (the store's preparation) and a
target judged at M."""

from __future__ import annotations

from benchmarks.run import WORKLOADS, markdown


def test_rows_with_and_without_a_baseline_render_with_their_target():
    rows = [
        {"size": "L", "backend": "gpkg", "workload": "prepare (all six files)", "seconds": 1542.4,
         "peak_mb": 5862, "rows": 2011097, "rows_per_s": 1304, "baseline": None,
         "baseline_seconds": None, "ratio": None},
        {"size": "M", "backend": "gpkg", "workload": "import", "seconds": 13.97, "peak_mb": 889,
         "rows": 100000, "rows_per_s": 7159, "baseline": "raw pyogrio read + write",
         "baseline_seconds": 1.11, "ratio": 12.59, "target": "≤ 3×", "met": False},
    ]
    lines = markdown(rows).splitlines()
    assert lines[2] == ("| L | gpkg | prepare (all six files) | 1542.40 | 5,862 | 1,304 | — |  |"
                        "  |  |")
    assert lines[3] == ("| M | gpkg | import | 13.97 | 889 | 7,159 | raw pyogrio read + write | "
                        "1.11 | 12.59× | ≤ 3× ✗ |")
    assert WORKLOADS[0] == "import" and WORKLOADS[-1] == "report"
