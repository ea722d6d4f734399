"""The stockpile ledger's rule (:mod:`mineledger.stockpile.movements`): balances derived from
movements, never negative at the end of any day; a backdated movement that a later one relied
on is refused with the lot, building, date, balance and shortfall; corrections reverse, never
edit; retained items (APMBC Art. 3) are counted apart in their building. Property tests draw
random sequences: what is accepted keeps every balance at zero or above and equal to a recount
item by item; what is refused adds nothing."""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from mineledger.errors import BalanceError, QueryError
from mineledger.stockpile.movements import (MovementKind, balances, entries, record,
                                            shortfalls, validate)

D = dt.date


def m(mid, lot, kind, day, quantity, from_b=None, to_b=None, reverses=None):
    return {"movement_id": mid, "lot": lot, "kind": kind, "date": day, "quantity": quantity,
            "from_building": from_b, "to_building": to_b, "reverses": reverses}


def held(ledger) -> dict:
    return {(r.lot, r.building, r.holding): r.items for r in balances(ledger).itertuples()}


def test_a_lot_moves_and_its_balance_follows():
    ledger = record([], [m("1", "L1", "opening_balance", D(2024, 1, 1), 1000, to_b="M1"),
                         m("2", "L1", "transfer", D(2024, 2, 1), 300, "M1", "M2"),
                         m("3", "L1", "destroyed", D(2024, 3, 1), 200, from_b="M1"),
                         m("4", "L1", "retained", D(2024, 3, 2), 50, from_b="M2"),
                         m("5", "L1", "exported", D(2024, 4, 1), 100, from_b="M2")])
    assert held(ledger) == {("L1", "M1", "stockpile"): 500, ("L1", "M2", "stockpile"): 150,
                            ("L1", "M2", "retained"): 50}
    at = {(r.building, r.holding): r.items for r in balances(ledger, D(2024, 2, 15)).itertuples()}
    assert at == {("M1", "stockpile"): 700, ("M2", "stockpile"): 300}
    assert sum(held(ledger).values()) == 1000 - 200 - 100  # destroyed and exported left


def test_a_movement_that_would_go_below_zero_is_refused_and_named():
    ledger = record([], [m("1", "L1", "received_production", D(2024, 1, 1), 10, to_b="M1")])
    with pytest.raises(BalanceError) as caught:
        record(ledger, [m("2", "L1", "consumed", D(2024, 1, 5), 12, from_b="M1")])
    assert str(caught.value) == ("lot L1, building M1: the balance on 2024-01-05 would be -2 "
                                 "items, 2 short; nothing was recorded")


def test_a_backdated_movement_is_refused_where_a_later_balance_relied_on_it():
    """10 received on day 1, 8 consumed on day 5: 5 more consumed on day 3 leaves 5 that day,
    but −3 on day 5."""
    ledger = record([], [m("1", "L1", "received_production", D(2024, 1, 1), 10, to_b="M1"),
                         m("2", "L1", "consumed", D(2024, 1, 5), 8, from_b="M1")])
    with pytest.raises(BalanceError, match="the balance on 2024-01-05 would be -3 items, 3 short"):
        record(ledger, [m("3", "L1", "consumed", D(2024, 1, 3), 5, from_b="M1")])
    assert len(record(ledger, [m("3", "L1", "consumed", D(2024, 1, 3), 2, from_b="M1")])) == 3


def test_a_days_movements_count_together():
    """Received and issued on the same day: the balance at the end of the day counts."""
    ledger = record([], [m("1", "L1", "issued_to_minefield", D(2024, 1, 1), 5, from_b="M1"),
                         m("2", "L1", "received_production", D(2024, 1, 1), 5, to_b="M1")])
    assert held(ledger) == {("L1", "M1", "stockpile"): 0}


def test_a_correction_reverses_and_can_itself_be_refused():
    ledger = record([], [m("1", "L1", "received_production", D(2024, 1, 1), 10, to_b="M1"),
                         m("2", "L1", "transfer", D(2024, 1, 2), 10, "M1", "M2")])
    with pytest.raises(BalanceError, match="lot L1, building M2: .* -10 items"):
        # the transfer reversed after M2 consumed what it brought: M2 would be 10 short
        record(ledger, [m("3", "L1", "consumed", D(2024, 1, 3), 10, from_b="M2"),
                        m("4", "L1", "correction", D(2024, 1, 3), 10, reverses="2")])
    fixed = record(ledger, [m("3", "L1", "correction", D(2024, 1, 3), 10, reverses="2")])
    assert held(fixed) == {("L1", "M1", "stockpile"): 10, ("L1", "M2", "stockpile"): 0}
    e = entries(fixed)
    assert list(e[e["movement_id"] == "3"]["items"]) == [10, -10]  # the transfer, negated
    with pytest.raises(QueryError, match="movement 2 is already reversed"):
        record(fixed, [m("4", "L1", "correction", D(2024, 1, 4), 10, reverses="2")])
    with pytest.raises(QueryError, match="movement 3 is a correction"):
        record(fixed, [m("4", "L1", "correction", D(2024, 1, 4), 10, reverses="3")])
    with pytest.raises(QueryError, match="reverses '9', which is not a movement"):
        record(fixed, [m("4", "L1", "correction", D(2024, 1, 4), 10, reverses="9")])


@pytest.mark.parametrize("bad,message", [
    (m("1", "L1", "received", D(2024, 1, 1), 5, to_b="M1"), "kind 'received': expected one of"),
    (m("1", "L1", "found", D(2024, 1, 1), 2.5, to_b="M1"), "expected a whole number of items"),
    (m("1", "L1", "found", D(2024, 1, 1), -3, to_b="M1"), "expected a whole number of items"),
    (m("1", "L1", "found", D(2024, 1, 1), 0, to_b="M1"), "expected a whole number of items"),
    (m("1", "L1", "found", D(2024, 1, 1), True, to_b="M1"), "expected a whole number of items"),
    (m("1", "L1", "found", "2024-01-01", 5, to_b="M1"), "expected a day"),
    (m("1", "L1", "found", D(2031, 1, 1), 5, to_b="M1"), "is in the future"),
    (m("1", "L1", "found", D(2024, 1, 1), 5), "found needs to_building"),
    (m("1", "L1", "stolen", D(2024, 1, 1), 5, to_b="M1"), "stolen needs from_building"),
    (m("1", "L1", "transfer", D(2024, 1, 1), 5, "M1", "M1"), "from building M1 to itself"),
])
def test_movements_not_of_the_form_are_refused(bad, message):
    with pytest.raises(QueryError, match=message):
        validate([bad], today=D(2026, 12, 6))


def test_an_id_used_twice_is_refused():
    first = record([], [m("1", "L1", "found", D(2024, 1, 1), 5, to_b="M1")])
    with pytest.raises(QueryError, match="movement 1: its id is already used"):
        record(first, [m("1", "L1", "found", D(2024, 1, 2), 5, to_b="M1")])


# -- property: random sequences -------------------------------------------------------------

LOTS, BUILDINGS = ["L1", "L2"], ["M1", "M2", "M3"]
KINDS = [k for k in MovementKind if k != MovementKind.CORRECTION]

movement = st.tuples(st.sampled_from(KINDS), st.sampled_from(LOTS), st.integers(0, 30),
                     st.integers(1, 40), st.sampled_from(BUILDINGS), st.sampled_from(BUILDINGS),
                     st.booleans())


def _recount(ledger) -> dict:
    """Items per lot, building and holding, added up one movement at a time by hand."""
    out: dict = {}
    rows = ledger.to_dict("records")
    by_id = {r["movement_id"]: r for r in rows}

    def add(lot, building, holding, n):
        out[(lot, building, holding)] = out.get((lot, building, holding), 0) + n

    for r in rows:
        src, sign = (by_id[r["reverses"]], -1) if r["kind"] == "correction" else (r, 1)
        k, q = src["kind"], src["quantity"] * sign
        if k in ("opening_balance", "received_production", "received_from_state", "found",
                 "returned"):
            add(src["lot"], src["to_building"], "stockpile", q)
        elif k == "transfer":
            add(src["lot"], src["from_building"], "stockpile", -q)
            add(src["lot"], src["to_building"], "stockpile", q)
        elif k == "retained":
            add(src["lot"], src["from_building"], "stockpile", -q)
            add(src["lot"], src["from_building"], "retained", q)
        else:
            add(src["lot"], src["from_building"], "stockpile", -q)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(movement, min_size=1, max_size=25))
def test_any_sequence_keeps_balances_whole_and_refused_ones_add_nothing(drawn):
    ledger = record([], [])
    for i, (kind, lot, day, q, a, b, correct) in enumerate(drawn):
        if b == a:
            b = BUILDINGS[(BUILDINGS.index(a) + 1) % len(BUILDINGS)]
        day_ = D(2024, 1, 1) + dt.timedelta(days=day)
        new = m(str(i), lot, kind.value, day_, q, from_b=a, to_b=b)
        if correct and len(ledger):
            open_ = [x for x in ledger["movement_id"]
                     if x not in set(ledger["reverses"].dropna())
                     and ledger.loc[ledger["movement_id"] == x, "kind"].iloc[0] != "correction"]
            if open_:
                new = m(str(i), lot, "correction", day_, q, reverses=open_[0])
        before = ledger.copy()
        try:
            ledger = record(ledger, [new])
        except BalanceError:
            pd_equal = before.equals(ledger)
            assert pd_equal  # nothing was added
            continue
        assert not shortfalls(ledger)
        assert all(v >= 0 for v in held(ledger).values())
        recount = {k: v for k, v in _recount(ledger).items()}
        assert held(ledger) == recount
        # and at the end of every day, never below zero
        for day in sorted(set(ledger["date"])):
            assert (balances(ledger, day)["items"] >= 0).all()


# -- stocktakes and what a building holds ---------------------------------------------------

def test_a_stocktake_that_differs_is_a_finding_until_found_or_lost_settles_it():
    from mineledger.stockpile.movements import stocktake_findings

    ledger = record([], [m("1", "L1", "opening_balance", D(2024, 1, 1), 100, to_b="M1"),
                         m("2", "L1", "consumed", D(2024, 3, 1), 10, from_b="M1")])
    counts = [{"stocktake_id": "ST1", "lot": "L1", "building": "M1", "date": D(2024, 6, 30),
               "counted": 87},
              {"stocktake_id": "ST1", "lot": "L1", "building": "M1", "holding": "retained",
               "date": D(2024, 6, 30), "counted": 0}]
    found = stocktake_findings(ledger, counts)
    assert found[["lot", "building", "counted", "expected", "difference"]].values.tolist() == \
        [["L1", "M1", 87, 90, -3]]
    settled = record(ledger, [m("3", "L1", "lost", D(2024, 6, 30), 3, from_b="M1")])
    assert stocktake_findings(settled, counts).empty


def test_what_each_building_holds_feeds_the_storage_check():
    import pandas as pd

    from mineledger.stockpile.holdings import groups_by_building, neq_by_building

    ledger = record([], [m("1", "L1", "received_production", D(2024, 1, 1), 2_000, to_b="M1"),
                         m("2", "L2", "received_production", D(2024, 1, 1), 1_000, to_b="M1"),
                         m("3", "L2", "transfer", D(2024, 2, 1), 600, "M1", "M2"),
                         m("4", "L1", "retained", D(2024, 2, 1), 100, from_b="M1")])
    lots = pd.DataFrame({"lot": ["L1", "L2"], "munition_type": ["AP", "AT"]})
    types = pd.DataFrame({"munition_type": ["AP", "AT"], "hazard_division": ["1.1", "1.2.1"],
                          "compatibility_group": ["D", "E"], "neq_per_item_kg": [0.1, 5.0]})
    assert neq_by_building(balances(ledger), lots, types) == \
        {"M1": {"1.1": 200.0, "1.2.1": 2_000.0}, "M2": {"1.2.1": 3_000.0}}
    assert groups_by_building(balances(ledger), lots, types) == {"M1": ["D", "E"], "M2": ["E"]}
    with pytest.raises(QueryError, match="lot L2: not among the lots"):
        neq_by_building(balances(ledger), lots.iloc[:1], types)
