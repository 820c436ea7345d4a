"""The oracle's building blocks: checkers written from the protocol reference, never from `compat`.

Modules by role:
- anthropic_stream: the Anthropic SSE event grammar and what the SDKs require of it
  (docs/reference/anthropic.md#stream-grammar, docs/reference/checklist.md#anthropic-stream);
- openai_stream: the OpenAI chunk grammar (docs/reference/openai.md#streaming);
- envelopes: error envelopes and whole (non-stream) replies;
- content and reply: nothing lost or invented, on the way up and on the way back;
- gemini_turns: the turn rules Gemini enforces on a request (docs/reference/gemini.md#turn-rules);
- gemini_schema: Gemini `Schema` and `parametersJsonSchema` rules (docs/reference/gemini.md#schema);
- sse, text, violation: lenient SSE reading, Unicode rules, the Violation every check raises;
- hostile: error-envelope assertions and hostile-input helpers for the test suites.
The conformance runner (conformance.runner) grades a proxy with these; the test suites use them too.

Rule tags in violation messages, e.g. "(A.6.5)", name the reference: A = docs/reference/
anthropic.md (A.1 endpoints and headers, A.2 request body, A.3 content blocks, A.4 message object,
A.5 stream grammar, A.6.N the N-th SDK stream rule, A.7 errors), B = gemini.md, C = code-assist.md,
D = openai.md (D.1 request, D.2 response, D.3 streaming, D.4 errors), E = stop-reasons.md,
F = json.md, G = checklist.md.
"""
