"""``python -m aalp.cli``: the command line."""

from aalp.cli import main

main()
