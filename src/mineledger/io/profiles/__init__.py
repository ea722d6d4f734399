"""Import profiles: declarative mappings from a source's columns to a record layer — what a
profile is (:mod:`.definitions`), how one is loaded and checked (:mod:`.loading`), and how
each value is parsed (:mod:`.values`). The format is in docs/profiles.md; the built-in
profiles are in ``builtin/``."""

from mineledger.io.profiles.definitions import GeometryRule, JoinRule, Profile
from mineledger.io.profiles.loading import builtin_profiles, dump_profile, load_profile
from mineledger.io.profiles.values import FieldError, FieldRule

__all__ = ["FieldError", "FieldRule", "GeometryRule", "JoinRule", "Profile", "builtin_profiles",
           "dump_profile", "load_profile"]
