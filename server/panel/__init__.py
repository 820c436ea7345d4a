"""The control panel at /panel: flags, credentials, live metrics and the gate's reports.

Modules, by role:
    routes          the Quart blueprint (pages, forms, the JSON the metrics page polls)
    session         signed expiring session cookies and CSRF tokens (pure, no I/O)
    login_throttle  wrong admin keys per client, over a sliding window
    live_metrics    snapshots of the proxy's Prometheus registry, rates and quantiles
    gate_reports    the report folders the gate writes (verdict.json, report.html)
    errors          PanelError, the root, and Refusal (answered with an error page)
    templates/, static/   server-rendered HTML, one stylesheet, one small script (no CDN)

The panel sits between the app factory and the edge (an import-linter layer): it uses the edge's
Services and key ring, and nothing below it knows it exists.
"""
