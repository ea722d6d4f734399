"""Land: hazardous areas and the land released from them — the land release ledger
(:mod:`.landrelease`, IMAS 07.11), the hazard life cycle (:mod:`.lifecycle`), events linked to
areas (:mod:`.links`), administrative areas (:mod:`.admin_areas`), a country's headline
figures (:mod:`.summary`) and the figures kept up to date at each commit (:mod:`.figures`,
imported here so that any use of the domain keeps them)."""

from mineledger.land import figures  # noqa: F401  (registers its commit hook)
