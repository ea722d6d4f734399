"""The floor under ``import`` (issue 16, point 2): what the same rows cost with nothing but
SQLite in the way.

``python -m benchmarks.import_floor --size M`` times, in this process: a pyogrio read of
``hazards.gpkg``, then two raw ``executemany`` inserts, in one transaction, of the rows the
import stores — each record as the layer holds it and its change-log entry — into a new
SQLite file in WAL mode, as the store is. The rows are taken, outside the clock, from the
store the ``import`` workload last wrote (``benchmarks/data/<size>/import.gpkg``: run
``python -m benchmarks.run --one import --size <size>`` first), so they are byte for byte the
stored ones; the tables are created outside the clock with the store's own DDL, once with
its indexes (``indexed``: the store's schema) and once without (``plain``).

The change log doubles what an import writes (each entry holds the record as JSON and its
geometry again): at M the floor is about 2.5–3× the raw pyogrio read + write, so the
issue's 3× is out of reach with it, and the import is measured against 1.5× this floor.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path

import pyogrio

DATA = Path(__file__).resolve().parent / "data"


def _rows(con: sqlite3.Connection, table: str, where: str = "") -> tuple[list, list, str, list]:
    """(columns, rows in fid order, CREATE TABLE, CREATE INDEX statements) of a table."""
    cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")') if r[1] != "fid"]
    names = ", ".join(f'"{c}"' for c in cols)
    rows = con.execute(f'SELECT {names} FROM "{table}" {where} ORDER BY fid').fetchall()
    ddl = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                      (table,)).fetchone()[0]
    indexes = [r[0] for r in con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,))]
    return cols, rows, ddl, indexes


def floor(size: str) -> dict:
    folder = DATA / size
    src = sqlite3.connect(folder / "import.gpkg")
    try:
        tables = {"hazards": _rows(src, "hazards"),
                  "change_log": _rows(src, "change_log", "WHERE layer = 'hazards'")}
    finally:
        src.close()
    out: dict = {"rows": len(tables["hazards"][1]), "log_rows": len(tables["change_log"][1])}
    for variant in ("indexed", "plain"):
        target = folder / f"floor-{variant}.sqlite"
        for p in folder.glob(target.name + "*"):
            p.unlink()
        con = sqlite3.connect(target, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        for cols, rows, ddl, indexes in tables.values():
            con.execute(ddl)
            for statement in indexes if variant == "indexed" else []:
                con.execute(statement)
        clock, cpu = time.perf_counter(), time.process_time()
        pyogrio.read_dataframe(folder / "hazards.gpkg")
        con.execute("BEGIN IMMEDIATE")
        for name, (cols, rows, _, _) in tables.items():
            con.executemany(f'INSERT INTO "{name}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                            f'VALUES ({", ".join("?" * len(cols))})', rows)
        con.execute("COMMIT")
        out[variant] = round(time.perf_counter() - clock, 3)
        out[f"{variant}_cpu"] = round(time.process_time() - cpu, 3)
        con.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="S", choices=["S", "M", "L"])
    print(json.dumps(floor(parser.parse_args().size)))


if __name__ == "__main__":
    main()
