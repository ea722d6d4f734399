"""Codes the model uses, checked in one place: ISO 3166-1 alpha-3 country codes.

A country code is three ASCII letters; it is read in capitals (``col`` is ``COL``), wherever
it comes from — an option, a profile or a source row.

>>> country_code("col"), country_code("CO"), country_code("Ñ12")
('COL', None, None)
"""

from __future__ import annotations

import re
from typing import Any

from mineledger.errors import MineledgerError, QueryError

_ALPHA3 = re.compile(r"[A-Za-z]{3}", re.ASCII)

#: What an error says a country code should look like.
EXPECTED = "an ISO 3166-1 alpha-3 code such as COL"


def country_code(value: Any) -> str | None:
    """``value`` as an ISO 3166-1 alpha-3 code in capitals, or ``None`` if it is not three
    ASCII letters (ISO 3166-1 §6.2)."""
    if not isinstance(value, str) or not _ALPHA3.fullmatch(value):
        return None
    return value.upper()


def checked_country(value: Any, *, where: str = "--country",
                    error: type[MineledgerError] = QueryError) -> str:
    """:func:`country_code` of ``value``, or ``error`` naming ``where`` and what was expected.

    Raises
    ------
    MineledgerError
        Of the class ``error`` (QueryError by default): ``--country 'CO': expected an ISO
        3166-1 alpha-3 code such as COL``.

    >>> checked_country("bih")
    'BIH'
    """
    code = country_code(value)
    if code is None:
        raise error(f"{where} {value!r}: expected {EXPECTED}")
    return code
