"""pytest-benchmark: printwatch's SNMP codec against pysnmp's, on a realistic printer poll.

    pytest bench/bench_codec.py --benchmark-enable            # compare (one group per workload)
    pytest bench/bench_codec.py                               # smoke test: each runs once

The workloads and the unit of work (encode the message object, decode the bytes back, take the
varbinds out) are defined in ``bench/codec_ratio.py``, which measures the ratio itself, interleaved
and with repetitions (``python bench/codec_ratio.py``). Each test here also checks that what it
measured round-trips: the bytes are the expected ones (for the supplies workload, the real capture
byte for byte) and the decoded message equals the original.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    import codec_ratio
except ImportError:  # run with an import mode that does not put bench/ on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import codec_ratio

WORKLOADS = {w.name: w for w in codec_ratio.workloads()}


@pytest.mark.parametrize("library", ["printwatch", "pysnmp"])
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_codec(benchmark, workload: str, library: str) -> None:
    w = WORKLOADS[workload]
    benchmark.group = workload
    benchmark.extra_info.update(
        library=library,
        description=w.description,
        messages=len(w.wires),
        bytes=[len(b) for b in w.wires],
    )
    if library == "printwatch":
        results = benchmark(w.printwatch_work())
        w.check_printwatch(results)
    else:
        results = benchmark(w.pysnmp_work())
        w.check_pysnmp(results)
