"""What the Locust profiles are made of; the profiles themselves are loadtests/users.py and
loadtests/shapes.py (docs/locust.md).

Modules, by role (every one `_`-named: Locust collects any other `*.py` under loadtests/)
    _options        compatkit's command-line options and the checked Settings of a run
    _user           CompatkitUser, the FastHttpUser the profiles build on: what a task sends
    _exchange       one request sent, measured as it arrives, reported as Locust events
    _failures       the typed failures Locust counts (RateLimited, Overloaded, ...)
    _conversation   an agent session's history: a streamed reply as a message, tool results
    _shapes         the LoadTestShape classes
    _run            the run's raw samples and the result file (results-v1) they make
    _hooks          the event listeners: options, sample shipping worker -> master, the end
                    (result file, objectives, exit status)

This `__init__` imports nothing: importing locust monkey-patches the whole process for
gevent, so the modules that do not need it (_options, _failures, _conversation, _run) stay
importable without it, by the tests and by anything else. Everything is synchronous and
gevent-friendly: no asyncio, no import of `server`; timing and workloads come from
loadtests._common, shared with the bench runner.
"""
