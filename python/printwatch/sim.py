"""The fleet simulator: simulated printers, built from ``.snmprec`` recordings, answering SNMP
v1/v2c on consecutive loopback addresses.

The work is done by the Rust core (``printwatch._core.Simulator``): one UDP socket answers for
every address ``first .. last`` on one port, each reply leaving from the printer's own address,
on a Rust thread of its own, so Python (and the GIL) are never on the packet path.

>>> from printwatch.sim import Simulator
>>> with Simulator("recordings/", count=1000, port=0) as sim:  # doctest: +SKIP
...     sim.first, sim.last, sim.port  # ('127.20.0.1', '127.20.3.232', 40123)
...     sim.printer(7)["serial"]
...     sim.stats()["answered"]

Printer ``i`` has address ``base + i`` and answers from recording ``i % n`` (recordings in file
name order). ``identity`` gives each printer its own serial number, MAC address and sysName;
``dynamics`` makes meters grow, supplies drain and faults come and go over simulated time
(``time_scale`` simulated seconds per real second). See docs/simulator.md.

Error handling: the constructor raises ``ValueError`` for a base outside ``127.0.0.0/8``, a
fleet that does not fit in it, or recordings that hold nothing, ``OSError`` for a recordings path
that cannot be read (``FileNotFoundError`` for one that does not exist) and ``TypeError`` for a
``recordings`` argument that is not a path or a sequence of paths; :meth:`Simulator.start`
raises ``OSError`` when the port cannot be bound (in use, or below 1024 without privilege).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from printwatch._core import Simulator

if TYPE_CHECKING:
    from printwatch._core import _PrinterInfo as PrinterInfo
    from printwatch._core import _SimulatorStats as SimulatorStats

__all__ = ["PrinterInfo", "Simulator", "SimulatorStats"]
