"""Stockpiles and their safe storage (issue 17). So far, the rules that need no store:

- :mod:`.movements`: the balance of a lot derived from its movements, never negative at the
  end of any day (backdated entries included), and stocktakes that differ from it;
- :mod:`.holdings`: the NEQ each building holds by division, derived from its lots;
- :mod:`.storage_safety`: the quantity-distances of IATG 02.20 and the storage mixing of
  compatibility groups (AASTP-1);
- :mod:`.safety_check`: explosive buildings against their exposed sites (violations,
  licences back-calculated, held NEQ over a licence, incompatible groups).

The store's tables, imports and commands for lots, movements, buildings and exposed sites
come next."""

from mineledger.stockpile.holdings import groups_by_building, neq_by_building
from mineledger.stockpile.movements import (MovementKind, Shortfall, balances, record,
                                            shortfalls, stocktake_findings)
from mineledger.stockpile.safety_check import SafetyCheck, check_sites
from mineledger.stockpile.storage_safety import (Allowance, Distance, Mixing, RuleSet,
                                                 allowed_neq, code_distance, load_rule_set,
                                                 mixed_distance, mixing, required_distance)

__all__ = ["Allowance", "Distance", "Mixing", "MovementKind", "RuleSet", "SafetyCheck",
           "Shortfall", "allowed_neq", "balances", "check_sites", "code_distance",
           "groups_by_building", "load_rule_set", "mixed_distance", "mixing", "neq_by_building",
           "record", "required_distance", "shortfalls", "stocktake_findings"]
