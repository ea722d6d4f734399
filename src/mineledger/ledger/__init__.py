"""The ledger's own machinery, whatever the records: import (:mod:`.importer`), export
(:mod:`.export`), history and reverting imports (:mod:`.history`), figures as of a past
instant (:mod:`.asof`), data quality (:mod:`.quality`), and the store as a whole — backup,
restore (:mod:`.backup`) and migration (:mod:`.migration`)."""
