"""``python -m gdfast``: the command line (gdfast.cli)."""
from .cli import main

main()
