"""The oracle's building blocks: checkers written from the protocol reference, never from `compat`.

Modules by role:
- anthropic_stream: the Anthropic SSE event grammar (protocols.md §A.5, §A.6, §G);
- gemini_turns: the turn rules Gemini enforces on a request (§B.2);
- gemini_schema: Gemini `Schema` and `parametersJsonSchema` rules (§B.3);
- hostile: error envelopes (Anthropic, OpenAI, Google) and hostile-input helpers.
The conformance runner (conformance.runner) grades a proxy with these; the test suites use them too.
"""
