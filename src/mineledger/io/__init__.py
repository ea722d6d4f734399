"""The io layer: readers and writers of the interchange formats (:mod:`.readers`,
:mod:`.writers`), declarative import profiles (:mod:`.profiles`) and drafting one from a file
(:mod:`.infer`)."""

from mineledger.io.profiles import Profile, builtin_profiles, load_profile
from mineledger.io.readers import SourceRow, read_source

__all__ = ["Profile", "SourceRow", "builtin_profiles", "load_profile", "read_source"]
