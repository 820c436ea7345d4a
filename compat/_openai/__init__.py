"""OpenAI Chat Completions ⇄ Gemini: the OpenAI side of compat.

Operations (re-exported here; the server imports `encode_chunk` and `openai_error_body`)
    openai_to_gemini_request(openai_request, *, options=None) -> dict
    to_openai_completion(gemini_response, *, model, stop=(), completion_id=None) -> dict
    OpenAIStreamTranslator(*, model, include_usage=False, stop=(), completion_id=None)
    openai_error_body(request_error) -> dict, the 400 body for a RequestError
    encode_chunk(chunk) -> bytes, DONE_FRAME: the SSE framing of chunks

Modules, by role
    request      the request front door: one module per part of the request, below
    fields       typed reads of untrusted request fields (RequestError with the field's path)
    messages     `messages` -> `contents` and `systemInstruction`
    media        user content parts (text, images, files, audio) -> Gemini parts
    tools        `tools` / `tool_choice` (and legacy `functions`) -> declarations, toolConfig
    params       sampling parameters -> `generationConfig`; the parameters refused
    fast_path    plain text chats, converted in one pass to the same body
    errors       the error body for a request the gateway refuses itself
    choice       Gemini parts -> one choice's fields, shared by the completion and the stream
    stop         client-side enforcement of `stop` sequences on streamed text
    response     Gemini response -> ChatCompletion (non-stream)
    stream       Gemini stream bytes -> `chat.completion.chunk` stream
"""

from compat._openai.errors import openai_error_body
from compat._openai.request import openai_to_gemini_request
from compat._openai.response import to_openai_completion
from compat._openai.stream import DONE_FRAME, OpenAIStreamTranslator, encode_chunk

__all__ = [
    "DONE_FRAME",
    "OpenAIStreamTranslator",
    "encode_chunk",
    "openai_error_body",
    "openai_to_gemini_request",
    "to_openai_completion",
]
