"""The oracle's building blocks: checkers written from the protocol reference, never from `compat`.

Modules by role:
- anthropic_stream: the Anthropic SSE event grammar and what the SDKs require of it
  (docs/reference/anthropic.md#stream-grammar, docs/reference/checklist.md#anthropic-stream);
- gemini_turns: the turn rules Gemini enforces on a request (docs/reference/gemini.md#turn-rules);
- gemini_schema: Gemini `Schema` and `parametersJsonSchema` rules (docs/reference/gemini.md#schema);
- hostile: error envelopes (Anthropic, OpenAI, Google) and hostile-input helpers.
The conformance runner (conformance.runner) grades a proxy with these; the test suites use them too.
"""
