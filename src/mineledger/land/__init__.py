"""Land: hazardous areas and the land released from them — the land release ledger
(:mod:`.landrelease`, IMAS 07.11), the hazard life cycle (:mod:`.lifecycle`), events linked to
areas (:mod:`.links`), administrative areas (:mod:`.admin_areas`) and a country's headline
figures (:mod:`.summary`)."""
