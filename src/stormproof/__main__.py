"""``python -m stormproof``: the command line."""

from stormproof.cli import main

main()
