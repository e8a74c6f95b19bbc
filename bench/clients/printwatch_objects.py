"""Poll-cycle client: printwatch's engine with every varbind turned into a Python object.

The same as ``printwatch_engine`` except that each walked row becomes a ``VarBind`` (as
pysnmp's and ezsnmp's results are), so the difference between the two is the cost of Python
objects, not of polling.

    python -m bench.clients.printwatch_objects --targets FILE [--max-pps N] [--limit-seconds S]
"""

from __future__ import annotations

import sys

from bench.clients.printwatch_engine import main

if __name__ == "__main__":
    sys.exit(main("printwatch_objects", objects=True))
