"""Run the command line as ``python -m servicecheck``."""

from servicecheck.cli import main

main()
