"""The clients of the poll-cycle bench (``bench/poll_cycle.py``): one module per SNMP stack, each
runnable as ``python -m bench.clients.<name> --targets FILE [--concurrency N] [--limit-seconds S]``.
Each polls every target once with the workload of ``bench/workload.py`` and prints one JSON line
(see ``bench/clients/_common.py``)."""
