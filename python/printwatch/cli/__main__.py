"""``python -m printwatch.cli``: the ``printwatch`` command."""

import sys

from printwatch.cli.main import main

sys.exit(main())
