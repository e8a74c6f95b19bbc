"""The collector's HTTP handlers, one module per route: :mod:`.enrol` (``POST /v1/enrol``),
:mod:`.upload` (``POST /v1/upload``), :mod:`.read_api` (``GET /api/{view}``); what they share
(:class:`.state.CollectorState` on ``app.state.collector``, bounded body reads) in
:mod:`.state`. The routes list and the app are in :mod:`printwatch.collector.server`."""
