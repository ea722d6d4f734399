"""What every command group shares: the app and its sub-commands, the options defined once,
the consoles, and how tables and lists are printed. No service logic lives in the CLI."""

from __future__ import annotations

import csv
import io
import json
import sys
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from mineledger.access import Session

from mineledger.store.locations import DEFAULT_STORE, hide_passwords

# The command modules import the services inside each command, not at the top: `mineledger
# --help` (and every command) then loads only what it runs. This is the one place where
# function-level imports stand for start-up time, not for a cycle.

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_enable=False,
                  help="mineledger: mine action accountability ledger (hazards, land release, "
                       "events, victims) in a GeoPackage file or a PostgreSQL/PostGIS database.")


def group(name: str, help: str, *, invoke_without_command: bool = False) -> typer.Typer:
    """A command group (``mineledger NAME …``) added to the app."""
    sub = typer.Typer(help=help, no_args_is_help=not invoke_without_command,
                      invoke_without_command=invoke_without_command)
    app.add_typer(sub, name=name)
    return sub


# Piped or captured output is not squeezed into 80 columns: tables of figures stay whole.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)


class State:
    """The options given before the command (``--store``, ``--user``)."""

    store: str = DEFAULT_STORE
    user: str | None = None


state = State()


@app.callback()
def main_options(
    store: Annotated[str, typer.Option(
        "--store", envvar="MINELEDGER_STORE", metavar="PATH|URL",
        help="The store: a .gpkg file (created on first import), or a PostgreSQL/PostGIS "
             "database, postgresql://user@host:5432/name. Default ./mineledger.gpkg, or "
             "$MINELEDGER_STORE.")] = DEFAULT_STORE,
    user: Annotated[Optional[str], typer.Option(
        "--user", envvar="MINELEDGER_USER", metavar="NAME",
        help="Act as this user of the store (its role decides what is allowed). Default: "
             "$MINELEDGER_USER, else the login name.")] = None,
):
    state.store = store
    state.user = user


@contextmanager
def opened(location: str | None = None, *, check_schema: bool = True) -> Iterator["Session"]:
    """The store named by ``--store`` (or ``location``), as the user named by ``--user``: one
    session per command, closed with it."""
    from mineledger.access import open_store

    with open_store(location or state.store, create=False, user=state.user,
                    check_schema=check_schema) as session:
        yield session


def command_line() -> str:
    """The command as typed, for the change log, with any database password hidden."""
    return hide_passwords(" ".join(["mineledger", *sys.argv[1:]]))


def say(text: str) -> None:
    """Print a line of output as it is (no markup, no highlighting)."""
    out.print(text, highlight=False, markup=False)


def warn(text: str) -> None:
    """Print a line on stderr as it is."""
    err.print(text, highlight=False, markup=False)


@contextmanager
def rich_progress(description: str, total: int):
    """A progress bar on stderr (a :data:`mineledger.progress.ProgressFactory`)."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


# --- options defined once -----------------------------------------------------------------

class ListFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class SummaryFormat(str, Enum):
    json = "json"
    table = "table"


class AreaUnit(str, Enum):
    km2 = "km2"
    ha = "ha"
    m2 = "m2"


#: Divisor from m² and the label of each area unit.
UNIT = {"km2": (1e6, "km²"), "ha": (1e4, "ha"), "m2": (1.0, "m²")}


def in_unit(data, unit: AreaUnit | None):
    """JSON data with its areas in ``unit``: every ``…_m2`` field divided and renamed
    ``…_km2`` or ``…_ha`` (the field name carries the unit); unchanged when no unit is given.

    >>> in_unit({"area_m2": 2.5e6, "rows": [{"both_m2": None}]}, AreaUnit.km2)
    {'area_km2': 2.5, 'rows': [{'both_km2': None}]}
    """
    if unit is None:
        return data
    div, _ = UNIT[unit.value]
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if key.endswith("_m2"):
                out[key[:-3] + "_" + unit.value] = None if value is None else value / div
            elif key == "units" and isinstance(value, dict):
                out[key] = {**value, "area": f"{unit.value} (geodesic, WGS 84)"}
            else:
                out[key] = in_unit(value, unit)
        return out
    if isinstance(data, list):
        return [in_unit(v, unit) for v in data]
    return data

Country = Annotated[str, typer.Option(metavar="ISO3", help="ISO 3166-1 alpha-3 code.")]
OptionalCountry = Annotated[Optional[str], typer.Option(metavar="ISO3",
                                                        help="ISO 3166-1 alpha-3 code.")]
AsOf = Annotated[Optional[str], typer.Option(
    "--as-of", metavar="DATE|TIME", help="As the store stood at the end of this day (store "
    "time zone) or at this UTC time.")]
InformationAsOf = Annotated[Optional[str], typer.Option(
    "--information-as-of", metavar="DATE", help="As known by this date of information.")]
Listing = Annotated[ListFormat, typer.Option(help="table, json or csv.")]


def print_frame(df, format: ListFormat, title: str, empty: str) -> None:
    """A DataFrame as a table, JSON records or CSV; values are data, never markup."""
    df = df.astype(object).where(df.notna(), None)
    if format == ListFormat.json:
        out.print_json(json.dumps(df.to_dict("records"), ensure_ascii=False, default=str))
    elif format == ListFormat.csv:
        buf = io.StringIO()
        df.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL)
        sys.stdout.write(buf.getvalue())
    elif df.empty:
        out.print(empty)
    else:
        table = Table(title=f"{title} ({len(df):,})")
        for col in df.columns:
            table.add_column(col)
        for row in df.itertuples(index=False):
            table.add_row(*[Text("" if v is None else str(v)) for v in row])
        out.print(table)
