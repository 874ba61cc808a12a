"""``python -m optimizer`` runs the command-line interface."""

from optimizer.cli import main

main()
