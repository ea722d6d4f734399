"""The io layer: readers of interchange formats and declarative import profiles."""

from mineledger.io.profiles import Profile, builtin_profiles, load_profile
from mineledger.io.readers import SourceRow, read_source

__all__ = ["Profile", "SourceRow", "builtin_profiles", "load_profile", "read_source"]
