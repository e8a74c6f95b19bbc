"""The MSP's console: server-rendered pages on the collector's API listener, each also a JSON
API and, where a table, a CSV download (docs/collector.md, "The console").

One module per page: :mod:`.login` (log in and out), :mod:`.sites`, :mod:`.devices`,
:mod:`.enrolment`; what they share in :mod:`.view`, their queries in :mod:`.data`. Who may see
what is :mod:`printwatch.collector.access`'s; login, sessions, CSRF, throttle, TLS and the
layout are the web layer's (:mod:`printwatch.web.auth`, :mod:`printwatch.web.templating`),
shared with the appliance's dashboard.
"""
