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

Rule tags in violation messages name the section of docs/reference/ they come from: "SDK rule N"
is rule N of docs/reference/anthropic.md#sdk-stream-rules; "stream grammar", "message object",
"Anthropic headers" (#endpoints-and-headers) and "Anthropic errors" (#errors) are its sections;
"OpenAI streaming", "OpenAI response" and "OpenAI errors" are docs/reference/openai.md's; "Gemini"
is docs/reference/gemini.md, "Code Assist" docs/reference/code-assist.md, "JSON"
docs/reference/json.md, "checklist" docs/reference/checklist.md.
"""
