"""OpenAI Chat Completions ⇄ Gemini: the front door of the OpenAI side.

Operations
    openai_to_gemini_request(openai_request, *, options=None) -> dict   (compat._openai_request)
    to_openai_completion(gemini_response, *, model, stop=(), completion_id=None) -> dict
                                                                        (compat._openai_response)
    OpenAIStreamTranslator(*, model, include_usage=False, stop=(), completion_id=None)
                                                                        (compat._openai_stream)
    openai_error_body(request_error) -> dict, the 400 body for a RequestError
                                                                        (compat._openai_errors)
    encode_chunk(chunk) -> bytes, DONE_FRAME: the SSE framing of chunks (compat._openai_stream)

Each role lives in its own private module; this one only re-exports them.
"""

from compat._openai_errors import openai_error_body
from compat._openai_request import openai_to_gemini_request
from compat._openai_response import to_openai_completion
from compat._openai_stream import DONE_FRAME, OpenAIStreamTranslator, encode_chunk

__all__ = [
    "DONE_FRAME",
    "OpenAIStreamTranslator",
    "encode_chunk",
    "openai_error_body",
    "openai_to_gemini_request",
    "to_openai_completion",
]
