"""What the bench runner and the Locust profiles share: workloads, response timing, samples.

Operations
    workloads() / workload(name) -> Workload        the request kinds, as data (data/*.toml, *.json)
    request_body(workload, *, model, scenario, tag) the body to send, with the emulator's
                                                    scenario marker and a request tag
    request_headers(workload, api_key)              the protocol's headers
    request_path(workload, model=None)              where the request goes
    direct_twin(workload)                           the same request to the upstream itself
                                                    (Gemini): the baseline of overhead
    request_tags(text)                              the tags in an upstream record's text
    ResponseMeter(protocol, sent=, stream=)         one response measured as its bytes arrive:
        .headers(status, content_type, now) .feed(data, now) .end(now) .fail(kind, type, msg)
        .result() -> Measured(status, ttfb, ttft, itl, e2e, output_tokens, error; .tpot)
    SSEDecoder().feed(data) / .close() -> [SSEEvent(name, data)]
    result_sample(measured, *, start_s, lag_s, ...) the result file's sample object
    percentile(values, q)
    _environment: machine(), load_average(), packages(), python(), tree(root)
                                                    what a result file records of the run's
                                                    environment (bench runner and Locust)

Goals
    Pure and synchronous: no asyncio, no sockets, no clock of its own (callers stamp every
    read with their clock), so the asyncio runner (loadtests/_bench) and Locust's gevent users
    measure with the same code and the same definitions (docs/bench.md). The one file access
    is the packaged workload data, read once; `_environment` alone reads /proc and asks git,
    at a run's start and end. This package is `_`-prefixed so that
    `locust -f loadtests` does not collect it as a locustfile.
"""

from loadtests._common._samples import percentile, result_sample
from loadtests._common._sse import SSEDecoder, SSEEvent
from loadtests._common._timing import ErrorInfo, Measured, Protocol, ResponseMeter
from loadtests._common._workloads import (
    Workload,
    WorkloadError,
    direct_twin,
    request_body,
    request_headers,
    request_path,
    request_tags,
    workload,
    workloads,
)

__all__ = [
    "ErrorInfo",
    "Measured",
    "Protocol",
    "ResponseMeter",
    "SSEDecoder",
    "SSEEvent",
    "Workload",
    "WorkloadError",
    "direct_twin",
    "percentile",
    "request_body",
    "request_headers",
    "request_path",
    "request_tags",
    "result_sample",
    "workload",
    "workloads",
]
