"""A simulated fleet for the discovery tests and bench: the recordings that say they are
printers (hrDeviceType hrDevicePrinter or any Printer-MIB variable) and, if asked, a non-printer
(a Linux server: HOST-RESOURCES without a printer, no Printer-MIB), scattered through a range of
loopback addresses among addresses where nothing answers.

The 25 identification-only recordings (sysDescr and sysObjectID alone) are left out: telling
that they are printers needs the vendor data of the printer-semantics package (printwatch.mib).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.peers import RECORDINGS

NON_PRINTER = Path(__file__).parents[1] / "data" / "linux-server.snmprec"
PRINTER_EVIDENCE = ("1.3.6.1.2.1.43.", "1.3.6.1.2.1.25.3.2.1.2.")


def printer_recordings() -> list[Path]:
    """Recordings with printer evidence: a Printer-MIB variable or hrDevicePrinter."""
    out = []
    for path in sorted(RECORDINGS.glob("*.snmprec")):
        lines = path.read_text(errors="replace").splitlines()
        if any(line.startswith("1.3.6.1.2.1.43.") for line in lines) or any(
            line.startswith("1.3.6.1.2.1.25.3.2.1.2.") and line.endswith("|1.3.6.1.2.1.25.3.1.5")
            for line in lines
        ):
            out.append(path)
    assert out, f"no printer recordings under {RECORDINGS}"
    return out
