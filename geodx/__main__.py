"""``python -m geodx`` runs the command line."""

from geodx.cli import main

main()
