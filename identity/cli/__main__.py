"""``python -m identity.cli``: the ``hub`` command."""

from identity.cli import main

main()
