"""Stockpiles and their safe storage (issue 17). So far, the rules that need no store: the
balance of a lot derived from its movements and never negative, backdated entries included
(:mod:`.movements`); the quantity-distances of IATG 02.20 with the storage mixing of
compatibility groups (:mod:`.storage_safety`); and the check of explosive buildings against
their exposed sites (:mod:`.safety_check`: violations, licences back-calculated, held NEQ over
a licence, incompatible groups). The store's tables, imports and commands for lots,
movements, buildings and exposed sites come next."""

from mineledger.stockpile.movements import MovementKind, Shortfall, balances, record, shortfalls
from mineledger.stockpile.safety_check import SafetyCheck, check_sites
from mineledger.stockpile.storage_safety import (Allowance, Distance, Mixing, RuleSet,
                                                 allowed_neq, code_distance, load_rule_set,
                                                 mixed_distance, mixing, required_distance)

__all__ = ["Allowance", "Distance", "Mixing", "MovementKind", "RuleSet", "SafetyCheck",
           "Shortfall", "allowed_neq", "balances", "check_sites", "code_distance",
           "load_rule_set", "mixed_distance", "mixing", "record", "required_distance",
           "shortfalls"]
