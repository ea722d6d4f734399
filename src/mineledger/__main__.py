"""``python -m mineledger`` runs the command line."""

from mineledger.cli import main

main()
