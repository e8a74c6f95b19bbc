"""The ``printwatch`` command line."""

from printwatch.cli.main import main

__all__ = ["main"]
