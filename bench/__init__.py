"""printwatch's benchmarks: the codec ratio (``codec_ratio.py``) and the poll-cycle bench
(``poll_cycle.py`` with ``workload.py`` and ``clients/``)."""
