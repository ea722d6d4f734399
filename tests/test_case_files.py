"""Real spreadsheets and case files: workbooks whose dimension tag lies, a workbook given as
CSV, one row per event with casualty counts and a date in year, month and day columns.

Each test writes a small source for one case and asserts the stored values.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from mineledger import open_store
from mineledger.errors import SourceError
from mineledger.io.readers import read_source
from mineledger.ledger.importer import check_source, import_source

CASES = [["id", "anio", "mes", "dia", "tipo", "total", "heridos", "lat", "lon"],
         ["C-1", 2005, 3, 4, "Accidente por MAP", 3, 1, 7.11, -75.55],
         ["C-2", 2006, 11, None, "Incidente", 2, 2, 7.12, -75.56],
         ["C-3", 2007, None, None, "Accidente por MAP", 1, 0, 7.13, -75.57]]


@pytest.fixture
def store(store_at):
    with open_store(store_at("s")) as s:
        yield s


def write_profile(tmp_path: Path, text: str, name: str = "p.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def workbook_with_dimension_a1(path: Path, rows: list[list]) -> Path:
    """A workbook whose sheet says ``<dimension ref="A1"/>`` whatever it holds, as many
    exporters write it."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', data)
                assert n == 1
            zout.writestr(item, data)
    plain.unlink()
    return path


def stored(store, layer: str = "events") -> dict[str, dict]:
    """The layer's records by local_id, pandas' missing values as None."""
    frame = store.read_layer(layer)
    return {r["local_id"]: {k: (None if not isinstance(v, (list, dict)) and pd.isna(v) else v)
                            for k, v in r.items()} for r in frame.to_dict("records")}


# --- workbooks ------------------------------------------------------------------------------

def test_a_workbook_whose_dimension_tag_says_a1_is_read_whole(tmp_path):
    path = workbook_with_dimension_a1(tmp_path / "data" / "casos.xlsx", CASES)
    table = read_source(path)
    assert table.columns == CASES[0]
    assert len(table.rows) == 3
    assert table.rows[0].properties == dict(zip(CASES[0], CASES[1]))
    assert table.rows[2].properties["tipo"] == "Accidente por MAP"


def test_a_workbook_given_to_a_csv_profile_says_it_is_a_workbook(tmp_path, store):
    path = workbook_with_dimension_a1(tmp_path / "data" / "casos.xlsx", CASES)
    as_csv = path.with_name("casos.csv")
    path.rename(as_csv)
    with pytest.raises(SourceError, match=r"casos.csv: this is an XLSX workbook \(or another zip "
                                          r"archive\), not CSV text; declare read.format: xlsx"):
        read_source(as_csv)
    profile = write_profile(tmp_path, "layer: events\ncountry: COL\nread: {format: csv}\n"
                                      "fields:\n  local_id: id\n  event_type: {value: uxo_found}\n")
    with pytest.raises(SourceError, match="declare read.format: xlsx"):
        import_source(store, as_csv, profile)
    assert store.read_layer("events").empty
