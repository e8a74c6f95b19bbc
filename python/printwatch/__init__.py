"""printwatch: an SNMP polling appliance for printer fleets.

The public codec API lives in :mod:`printwatch.snmp`; the command line in :mod:`printwatch.cli`.
"""

from printwatch._core import PrintwatchError, __version__

__all__ = ["PrintwatchError", "__version__"]
