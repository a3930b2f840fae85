"""`python -m api.cli`: the operators' command line."""

from api.cli.main import main

main()
