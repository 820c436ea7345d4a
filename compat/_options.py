"""Options for request conversion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SchemaMode = Literal["parameters", "parametersJsonSchema"]


@dataclass(frozen=True, slots=True)
class ConversionOptions:
    """How a client request becomes a Gemini request.

    fast_path: take the text-only fast path when the request qualifies
        (`ff_converter_fast_path`); the output is identical either way.
    schema_mode: send tool schemas cleaned into Gemini's `parameters` Schema subset,
        or as JSON Schema in `parametersJsonSchema`.
    upstream_model: the Gemini model the request goes to, when known. Gemini 3
        models require a thought signature on the first function call of each model
        turn; for them a missing one is replaced by Google's documented skip sentinel.
    """

    fast_path: bool = False
    schema_mode: SchemaMode = "parameters"
    upstream_model: str | None = None
