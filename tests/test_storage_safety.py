"""Quantity-distance and storage mixing (:mod:`mineledger.stockpile.storage_safety`): every worked
value of ``../shared/reference/storage-safety.md``, the mixed divisions of IATG 02.20 Table 6,
the rounding, flags for quantities outside a table, a national rule set added as a file
(Finland's published factors), rule sets that are not of the form, and the calculator on
the command line."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mineledger.errors import QueryError, RuleSetError
from mineledger.stockpile import (allowed_neq, code_distance, load_rule_set, mixed_distance,
                                  mixing, required_distance)
from tests.conftest import run_cli

IBD = "inhabited_building"


# -- the reference's worked values (HD 1.1, rounded as IATG 02.20 says) -------------------------

def test_ten_tonnes_of_hd_1_1():
    """Q = 10,000 kg: inhabited buildings (D13) 480 m; medium-use road (D11) 320 m; process
    building (D10) 175 m."""
    assert required_distance(10_000, "1.1", IBD).distance_m == 480
    assert required_distance(10_000, "1.1", "public_road", vehicles_per_day=2_000).distance_m == 320
    assert required_distance(10_000, "1.1", "railway").distance_m == 320
    assert required_distance(10_000, "1.1", "process_building").distance_m == 175
    d = required_distance(10_000, "1.1", IBD)
    assert d.code == "D13" and d.raw_m == pytest.approx(22.2 * 10_000 ** (1 / 3))
    assert d.table == "IATG 02.20 Table E.1" and d.notes == ()


def test_one_tonne_keeps_the_inhabited_building_minimum():
    """Q = 1,000 kg: D12 = 225 m, but the inhabited-building distance is the 400 m minimum."""
    assert code_distance(1_000, "1.1", "D12").distance_m == 225
    d = required_distance(1_000, "1.1", IBD)
    assert (round(d.raw_m, 6), d.minimum_m, d.distance_m) == (150.0, 400.0, 400)


def test_five_hundred_metres_allow_11424_kg():
    """500 m available to an inhabited building: at most 11,424 kg (rounded down)."""
    a = allowed_neq(500, "1.1", IBD)
    assert (a.neq_kg, a.code) == (11_424, "D13")
    assert 22.2 * 11_424 ** (1 / 3) <= 500 < 22.2 * 11_425 ** (1 / 3)


def test_mixed_divisions_take_the_greater_of_the_total_as_1_1_and_as_1_2():
    """8 t HD 1.1 + 2 t HD 1.2 + 5 t HD 1.3 in one building: 15 t evaluated as HD 1.1 (550 m)
    and as HD 1.2.1 (390 m): 550 m."""
    d = mixed_distance({"1.1": 8_000, "1.2.1": 2_000, "1.3.1": 5_000}, IBD)
    assert (d.distance_m, d.division, d.neq_kg) == (550, "1.1", 15_000)
    assert required_distance(15_000, "1.2.1", IBD).distance_m == 390
    assert "Table 6" in d.notes[0] and "HD 1.2.1 15,000 kg: 390 m" in d.notes[0]


# -- Table 6, case by case ------------------------------------------------------------------------

def test_1_1_with_1_3_is_the_total_as_1_1():
    d = mixed_distance({"1.1": 3_000, "1.3.2": 7_000}, IBD)
    assert d.distance_m == required_distance(10_000, "1.1", IBD).distance_m == 480
    assert "1.1 + 1.3" in d.notes[0]


def test_1_5_counts_as_1_1():
    assert required_distance(10_000, "1.5", IBD).distance_m == 480
    assert mixed_distance({"1.1": 4_000, "1.5": 6_000}, IBD).distance_m == 480


def test_1_2_with_1_3_is_each_from_its_own_neq():
    held = {"1.2.2": 20_000, "1.3.1": 100_000}
    alone = [required_distance(20_000, "1.2.2", IBD), required_distance(100_000, "1.3.1", IBD)]
    d = mixed_distance(held, IBD)
    assert d.distance_m == max(a.distance_m for a in alone)
    assert d.neq_kg in (20_000, 100_000) and "own NEQ" in d.notes[0]


def test_one_division_alone_is_its_own_distance_and_1_4_adds_none():
    assert mixed_distance({"1.3.1": 50_000}, IBD) == required_distance(50_000, "1.3.1", IBD)
    with_14 = mixed_distance({"1.1": 10_000, "1.4": 90_000}, IBD)
    assert with_14.distance_m == 480 and with_14.neq_kg == 10_000
    alone = mixed_distance({"1.4": 500}, IBD)
    assert alone.distance_m == 10 and "no NEQ-based distance" in alone.notes[0]


def test_hd_1_6_is_refused_not_guessed():
    with pytest.raises(QueryError, match=r"HD 1.6: the rule set IATG 02.20 .* gives no distances"):
        required_distance(1_000, "1.6", IBD)
    with pytest.raises(QueryError, match="HD 1.6"):
        mixed_distance({"1.1": 1_000, "1.6": 10}, IBD)


# -- exposed sites, rounding and the tables' ranges -------------------------------------------

def test_roads_by_their_traffic():
    q = 10_000
    busy = required_distance(q, "1.1", "public_road", vehicles_per_day=5_000)
    medium = required_distance(q, "1.1", "public_road", vehicles_per_day=4_999)
    low = required_distance(q, "1.1", "public_road", vehicles_per_day=999)
    assert (busy.code, medium.code, low.code) == ("D13", "D11", "D12")
    assert busy.distance_m == 480 and medium.distance_m == 320
    assert low.raw_m == pytest.approx(0.5 * 22.2 * q ** (1 / 3)) and low.distance_m == 240
    unknown = required_distance(q, "1.1", "public_road")  # traffic unknown: the safe side
    assert unknown.code == "D13" and "traffic unknown" in unknown.notes[0]


def test_vulnerable_buildings_are_twice_d12():
    d = required_distance(10_000, "1.1", "school")
    assert d.raw_m == pytest.approx(2 * 22.2 * 10_000 ** (1 / 3)) and d.distance_m == 960


@pytest.mark.parametrize("raw,rounded", [(99.2, 100), (100.0, 100), (100.1, 105), (499.0, 500),
                                         (500.0, 500), (501.0, 510), (999.0, 1000),
                                         (1000.0, 1000), (1000.5, 1020), (37.0, 37)])
def test_distances_round_up_by_the_reference_steps(raw, rounded):
    assert load_rule_set().round_up(raw) == rounded


def test_quantities_outside_a_table_are_flagged_not_silently_extrapolated():
    small = required_distance(20, "1.1", IBD)
    assert any("outside IATG 02.20 Table E.1's range" in n for n in small.notes)
    caution = required_distance(300, "1.1", IBD)
    assert any("great caution" in n for n in caution.notes)
    big = required_distance(1_000_000, "1.3.1", IBD)
    assert any("extrapolated" in n for n in big.notes)
    assert required_distance(10_000, "1.1", IBD).notes == ()


def test_hd_1_2_and_1_3_formulas_and_minimums():
    d1 = required_distance(100, "1.2.2", IBD)  # D1 = 28.127 − 2.364 L + 1.577 L², at least 30 m
    ln = math.log(100)
    assert d1.raw_m == pytest.approx(28.127 - 2.364 * ln + 1.577 * ln ** 2)
    assert d1.distance_m == math.ceil(max(d1.raw_m, 30))
    d4 = required_distance(1_000, "1.3.1", IBD)  # 6.4·Q^1/3 = 64 m, at least 60
    assert d4.raw_m == pytest.approx(64.0) and d4.distance_m == 64
    d2 = required_distance(1_000, "1.3.1", "public_road", vehicles_per_day=10)
    assert d2.raw_m == pytest.approx(32.0) and d2.distance_m == 60  # D2, at least 60 m


def test_what_the_rule_set_does_not_cover_is_said():
    with pytest.raises(QueryError, match="gives no distance to an exposed site of kind earth_covered_magazine"):
        required_distance(1_000, "1.3.1", "earth_covered_magazine")
    with pytest.raises(QueryError, match="exposed site kind 'house'"):
        required_distance(1_000, "1.1", "house")
    with pytest.raises(QueryError, match="hazard division '1.7'"):
        required_distance(1_000, "1.7", IBD)
    for bad in (0, -5, float("nan"), float("inf")):
        with pytest.raises(QueryError, match="expected a quantity above 0 kg"):
            required_distance(bad, "1.1", IBD)
    with pytest.raises(QueryError, match="expected metres above 0"):
        allowed_neq(0, "1.1", IBD)
    with pytest.raises(QueryError, match="no NEQ-based distance"):
        allowed_neq(50, "1.4", IBD)
    with pytest.raises(QueryError, match="has no code 'D99'"):
        code_distance(1_000, "1.1", "D99")


def test_a_distance_below_the_minimum_allows_nothing():
    a = allowed_neq(399, "1.1", IBD)
    assert a.neq_kg == 0 and "below the minimum 400 m" in a.notes[0]
    assert allowed_neq(400, "1.1", IBD).neq_kg == 5_849


@settings(max_examples=150, deadline=None)
@given(st.floats(60, 5_000), st.sampled_from([("1.1", IBD), ("1.1", "process_building"),
                                              ("1.2.1", IBD), ("1.2.2", "railway"),
                                              ("1.3.1", IBD), ("1.3.1", "railway")]))
def test_the_allowed_neq_is_the_greatest_whole_kg_the_distance_takes(distance, case):
    """Back-calculated NEQ: the formula at that many kg fits the distance, one kg more does
    not (or nothing fits, below the minimum)."""
    division, exposed = case
    a = allowed_neq(distance, division, exposed)
    if a.neq_kg == 0:
        assert a.notes
        return
    fits = required_distance(a.neq_kg, division, exposed)
    more = required_distance(a.neq_kg + 1, division, exposed)
    assert max(fits.raw_m, fits.minimum_m) <= distance
    assert max(more.raw_m, more.minimum_m) > distance or "beyond" in " ".join(a.notes)


# -- a national rule set, added as a file ------------------------------------------------------

FINLAND = """
# A small national rule set for the test: Finland's published factors s = k·∛m for HD 1.1
# and 1.5 (hospitals and care homes 60, schools and housing of ten or more households 30, a
# single building 22, public roads and harbours 15, low-traffic roads 10). The threshold
# between a public and a low-traffic road (1,000 vehicles a day) is the test's, not Finland's.
name: Finland (test)
edition: factors as published, for the test
source: Finnish separation factors for HD 1.1 and 1.5 (test transcription)
rounding: [{step: 1}]
same_as: {"1.5": "1.1"}
divisions:
  "1.1":
    table: national factors
    codes:
      hospital: {k: 60, power: 1/3}
      housing: {k: 30, power: 1/3}
      single: {k: 22, power: 1/3}
      road: {k: 15, power: 1/3}
      low_road: {k: 10, power: 1/3}
    exposed:
      hospital: {code: hospital}
      school: {code: housing}
      housing_area: {code: housing}
      inhabited_building: {code: single}
      harbour: {code: road}
      public_road:
        by_traffic:
          - {vehicles_at_least: 1000, code: road}
          - {code: low_road}
"""


def test_a_national_rule_set_is_a_file_not_code(tmp_path):
    path = tmp_path / "finland.yaml"
    path.write_text(FINLAND, encoding="utf-8")
    fi = load_rule_set(path)
    q = 8_000  # ∛8000 = 20
    expect = {"hospital": 1200, "school": 600, "housing_area": 600, "inhabited_building": 440,
              "harbour": 300}
    for kind, metres in expect.items():
        d = required_distance(q, "1.1", kind, rule_set=fi)
        assert (d.distance_m, d.rule_set) == (metres, "Finland (test)"), kind
    assert required_distance(q, "1.5", "hospital", rule_set=fi).distance_m == 1200
    assert required_distance(q, "1.1", "public_road", vehicles_per_day=5_000,
                             rule_set=fi).distance_m == 300
    assert required_distance(q, "1.1", "public_road", vehicles_per_day=10,
                             rule_set=fi).distance_m == 200
    assert allowed_neq(600, "1.1", "school", rule_set=fi).neq_kg == 8_000
    with pytest.raises(QueryError, match=r"Finland \(test\) .* gives no distances"):
        required_distance(q, "1.2.1", "hospital", rule_set=fi)


@pytest.mark.parametrize("text,message", [
    ("name: x\n", "edition: Field required"),
    (FINLAND.replace("power: 1/3}\n      housing", "power: one third}\n      housing"),
     "expected a number or a fraction such as 1/3"),
    (FINLAND.replace("{code: single}", "{code: nowhere}"), "code 'nowhere' is not among"),
    (FINLAND.replace("harbour: {code: road}", "harbor: {code: road}"), "exposed 'harbor'"),
    (FINLAND.replace('"1.1":\n    table', '"1.9":\n    table'), "division '1.9'"),
    ("divisions: [", "not YAML"),
])
def test_a_rule_set_not_of_the_form_is_refused_with_where_and_what(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleSetError, match=message) as caught:
        load_rule_set(path)
    assert str(path) in str(caught.value)


def test_the_default_rule_set_names_its_edition():
    rules = load_rule_set()
    assert (rules.name, rules.edition) == ("IATG 02.20", "3rd edition, 2021")


# -- storage mixing (AASTP-1 Table 6) ----------------------------------------------------------

def test_mixing_of_compatibility_groups():
    assert mixing(["D", "E", "S"]).permitted
    assert not mixing(["B", "C"]).permitted
    assert not mixing(["H", "J"]).permitted
    b_f = mixing(["B", "F"])
    assert b_f.permitted and b_f.notes == (
        "note 1: group B fuzes with the items they will be fitted to, NEQs added, treated as F",)
    assert not mixing(["K", "S"]).permitted  # K only with K
    a = mixing(["A", "D"])
    assert not a.permitted and "never mixed" in a.notes[0]
    with pytest.raises(QueryError, match="compatibility group Z"):
        mixing(["D", "Z"])


def test_the_mixing_table_is_symmetric():
    from mineledger.stockpile.storage_safety import _mixing_table

    table, _, _ = _mixing_table()
    for (a, b), v in table.items():
        assert table[(b, a)] == v, (a, b)


# -- the calculator on the command line ---------------------------------------------------------

def test_the_calculator_needs_no_store(tmp_path):
    r = run_cli("safety", "distance", "--neq", "10000", "--division", "1.1", "--format", "json",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {d["exposed"]: d for d in json.loads(r.stdout)}
    assert rows["inhabited_building"]["distance_m"] == 480
    assert rows["process_building"]["distance_m"] == 175
    assert not list(tmp_path.iterdir()), "the calculator wrote a store"
    mixed = run_cli("safety", "distance", "--neq", "1.1=8000", "--neq", "1.2.1=2000",
                    "--neq", "1.3.1=5000", "--exposed", IBD, cwd=tmp_path)
    assert mixed.returncode == 0, mixed.stderr
    assert "550" in mixed.stdout and "Table 6" in mixed.stdout
    neq = run_cli("safety", "neq", "--distance", "500", "--division", "1.1", "--exposed", IBD,
                  "--format", "json", cwd=tmp_path)
    assert neq.returncode == 0 and json.loads(neq.stdout)["neq_kg"] == 11_424
    mix = run_cli("safety", "mixing", "B", "C", cwd=tmp_path)
    assert mix.returncode == 1 and "not permitted" in mix.stdout
    bad = run_cli("safety", "distance", "--neq", "ten", "--division", "1.1", cwd=tmp_path)
    assert bad.returncode == 2 and "--neq ten" in bad.stderr and "Traceback" not in bad.stderr
    code = run_cli("safety", "distance", "--neq", "1000", "--division", "1.1", "--code", "D12",
                   cwd=tmp_path)
    assert code.returncode == 0 and "225" in code.stdout


@pytest.mark.parametrize("args,message", [
    (["--neq", "1.1=8000", "--division", "1.2.1"], "every --neq names its own division"),
    (["--neq", "1000", "--division", "1.1", "--code", "D12", "--exposed", IBD], "--code gives"),
    (["--neq", "1000", "--division", "1.1", "--code", "D12", "--vehicles", "10"], "--code gives"),
    (["--neq", "1000"], "name its division"),
    (["--neq", "1000", "--division", "1.1", "--rule-set", "nowhere.yaml"], "cannot read"),
])
def test_options_that_would_not_act_are_refused(tmp_path, args, message):
    r = run_cli("safety", "distance", *args, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
