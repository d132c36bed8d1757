"""``python -m app`` runs the ``geodx`` command line."""

from app.cli import main

main()
