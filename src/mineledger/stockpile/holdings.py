"""What each building holds, in kg NEQ by hazard division, from the balances of its lots
(issue 17, rule 2: NEQ is derived, items × NEQ per item) — what the storage-safety check
(:mod:`mineledger.stockpile.safety_check`) measures from.

>>> import pandas as pd
>>> b = pd.DataFrame({"lot": ["L1", "L2"], "building": ["M1", "M1"],
...                   "holding": ["stockpile", "retained"], "items": [1000, 40]})
>>> lots = pd.DataFrame({"lot": ["L1", "L2"], "munition_type": ["PMA-2", "TMA-4"]})
>>> types = pd.DataFrame({"munition_type": ["PMA-2", "TMA-4"], "hazard_division": ["1.1", "1.1"],
...                       "compatibility_group": ["D", "D"], "neq_per_item_kg": [0.1, 5.5]})
>>> neq_by_building(b, lots, types)
{'M1': {'1.1': 320.0}}
"""

from __future__ import annotations

import pandas as pd

from mineledger.errors import QueryError


def _joined(balances: pd.DataFrame, lots: pd.DataFrame, types: pd.DataFrame) -> pd.DataFrame:
    frame = balances.merge(lots[["lot", "munition_type"]], on="lot", how="left")
    unknown = frame[frame["munition_type"].isna()]
    if len(unknown):
        raise QueryError(f"lot {unknown['lot'].iloc[0]}: not among the lots (no munition type)")
    frame = frame.merge(types, on="munition_type", how="left")
    untyped = frame[frame["neq_per_item_kg"].isna() | frame["hazard_division"].isna()]
    if len(untyped):
        raise QueryError(f"munition type {untyped['munition_type'].iloc[0]}: no hazard division "
                         "or NEQ per item recorded")
    frame["neq_kg"] = frame["items"] * frame["neq_per_item_kg"]
    return frame


def neq_by_building(balances: pd.DataFrame, lots: pd.DataFrame,
                    types: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{building: {hazard division: kg NEQ}}`` of what each building holds, retained items
    included (they are stored there too); divisions with nothing held are left out.

    Parameters
    ----------
    balances : DataFrame
        ``lot``, ``building``, ``holding``, ``items`` (:func:`~mineledger.stockpile.movements.balances`).
    lots : DataFrame
        ``lot``, ``munition_type``.
    types : DataFrame
        ``munition_type``, ``hazard_division``, ``neq_per_item_kg`` (kg).

    Raises
    ------
    QueryError
        A lot that is not among ``lots``, or a munition type without a division or NEQ.
    """
    frame = _joined(balances[balances["items"] > 0], lots, types)
    out: dict[str, dict[str, float]] = {}
    for (building, hd), kg in frame.groupby(["building", "hazard_division"])["neq_kg"].sum().items():
        if kg > 0:
            out.setdefault(building, {})[hd] = round(float(kg), 6)
    return out


def groups_by_building(balances: pd.DataFrame, lots: pd.DataFrame,
                       types: pd.DataFrame) -> dict[str, list[str]]:
    """``{building: [compatibility groups held]}`` (sorted), for the mixing check."""
    frame = _joined(balances[balances["items"] > 0], lots, types)
    return {b: sorted(set(g.dropna())) for b, g in frame.groupby("building")["compatibility_group"]}
