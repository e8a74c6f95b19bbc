"""The running appliance: poller, sinks, metrics, the daemon loop (see appliance.py)."""
