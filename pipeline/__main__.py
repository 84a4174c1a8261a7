"""`python -m pipeline` is the `contacts` command."""

from .cli import main

main()
