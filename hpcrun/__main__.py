"""``python -m hpcrun``: the same as the ``hpcrun`` command."""

from hpcrun.cli.main import main

main()
