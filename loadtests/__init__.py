"""Load tools: Locust profiles (`locust -f loadtests`) and the bench runner (`compatkit bench`).

Locust collects every `*.py` below this folder whose name does not start with `_`, in every
subfolder, `_`-prefixed ones included (tests/loadtests/test_locust_collection.py): so the
shared helpers (`_common/`) and the runner (`_bench/`) are `_`-named modules throughout, and
only locustfiles are public. See docs/design.md (parts and import rules) and docs/bench.md.
"""
