"""The ``mineledger`` command: a thin layer over the Python API, one module per command
group (:mod:`.importing`, :mod:`.figures`, :mod:`.quality`, :mod:`.history`,
:mod:`.records`, :mod:`.victims`, :mod:`.admin`, :mod:`.storage_safety`).

Every command opens one session and makes one service call; errors that a user can cause
(:class:`~mineledger.errors.MineledgerError`) are printed as one clear line on stderr with exit
status 2, never as a traceback.
"""

from __future__ import annotations

import logging
import sys

# the command groups register themselves on the app, in the order `--help` lists them
from mineledger.cli import importing, figures, records, quality, history, admin, victims, storage_safety  # noqa: F401,E501
from mineledger.cli.common import app, err, state
from mineledger.errors import MineledgerError
from mineledger.store.locations import hide_passwords

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the CLI, turning mineledger errors into one line and exit status 2.

    Usage errors (a missing option, an unknown command) are reported by Typer itself, also
    with exit status 2.
    """
    logging.basicConfig(format="%(message)s", level=logging.WARNING, stream=sys.stderr)
    try:
        app(prog_name="mineledger")
    except MineledgerError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(2)
    except Exception as exc:  # the database refused something no check foresaw (permissions …)
        from mineledger.store.errors import DatabaseRefused, refusal  # only when one failed

        if not isinstance(exc, DatabaseRefused):
            raise
        err.print(f"error: {hide_passwords(state.store)}: the database refused: "
                  f"{refusal(exc)}; nothing was changed", highlight=False, markup=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
