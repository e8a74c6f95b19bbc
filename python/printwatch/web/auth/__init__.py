"""What every web front of printwatch shares about who is asking: the appliance's dashboard
(:mod:`printwatch.web.dashboard`) and the collector's console (:mod:`printwatch.collector.console`).

* :mod:`.passwords` — scrypt password hashes (and the dashboard's one-account password file);
* :mod:`.sessions` — session tokens, their CSRF tokens, the cookie names, the login throttle;
* :mod:`.session_file` — sessions kept in a file across restarts (the dashboard's);
* :mod:`.limits` — request bodies bounded in size and time (ASGI middleware);
* :mod:`.headers` — the security headers every answer carries;
* :mod:`.tls` — a configured certificate, or a self-signed one made on first start.

The page layout and the stylesheet are :mod:`printwatch.web.templating`'s.
"""
