"""Stockpiles and their safe storage (issue 17): so far the quantity-distance rules of
IATG 02.20 and the storage mixing of compatibility groups (:mod:`.storage_safety`), which
need no store. Lots, movements and balances come next."""

from mineledger.stockpile.storage_safety import (Allowance, Distance, Mixing, RuleSet,
                                                 allowed_neq, code_distance, load_rule_set,
                                                 mixed_distance, mixing, required_distance)

__all__ = ["Allowance", "Distance", "Mixing", "RuleSet", "allowed_neq", "code_distance",
           "load_rule_set", "mixed_distance", "mixing", "required_distance"]
