"""Import profiles: declarative mappings from a source's columns to a record layer."""

from mineledger.io.profiles.loading import *  # noqa: F401,F403 (temporary)
from mineledger.io.profiles.loading import (FieldError, FieldRule, GeometryRule, JoinRule, Profile,
                                            builtin_profiles, load_profile)
