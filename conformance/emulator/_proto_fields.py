"""The known-field tree of the requests the emulator accepts, as tables.

Operations: `MESSAGES` maps a message name to its `Message` (type URL, fields by JSON key);
`Field` says what one field holds. Message roots: `GenerateContentRequest`, `CountTokensRequest`
(Gemini API) and `CAGenerateContentRequest`, `CACountTokenRequest` (Code Assist envelopes).

Goal: the field set of google.ai.generativelanguage.v1beta as docs/reference/gemini.md#request-body,
#schema and docs/reference/code-assist.md#request-envelope list it, no more: a field Google does
not know must be reported as unknown, as Google does.
Plan: each message is declared once with proto snake_case names; the table is then indexed by both
the snake_case name and its lowerCamelCase JSON name (the proto JSON parser accepts both), so a
lookup during the walk is one dict access. Fields with an open-ended or out-of-scope shape (server
tools such as `googleSearch`, `speechConfig`) are `OPAQUE`: any JSON object is accepted inside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import Enum

TYPE_URL_PREFIX = "type.googleapis.com/google.ai.generativelanguage.v1beta."


class Kind(Enum):
    """What a field holds on the wire (proto JSON mapping)."""

    STRING = "TYPE_STRING"
    BOOL = "TYPE_BOOL"
    INT32 = "TYPE_INT32"
    INT64 = "TYPE_INT64"
    FLOAT = "TYPE_FLOAT"
    DOUBLE = "TYPE_DOUBLE"
    BYTES = "TYPE_BYTES"
    ENUM = "TYPE_ENUM"
    MESSAGE = "TYPE_MESSAGE"
    MAP = "map"  # map<string, message>: a JSON object of messages (Schema.properties)
    STRUCT = "struct"  # google.protobuf.Struct: any JSON object
    VALUE = "value"  # google.protobuf.Value: any JSON value
    OPAQUE = "opaque"  # a message whose inside is not modelled: any JSON object


_PLAIN_TYPES: Mapping[Kind, type] = {
    Kind.STRING: str,
    Kind.BOOL: bool,
    Kind.FLOAT: float,
    Kind.DOUBLE: float,
    Kind.STRUCT: dict,
    Kind.OPAQUE: dict,
}


@dataclass(frozen=True, slots=True)
class EnumType:
    """A proto enum: its type URL and value names (matched case-insensitively, like ESF).

    `spellings` adds the lower-case names, the common spellings a lookup can take directly.
    """

    type_url: str
    names: frozenset[str]
    spellings: frozenset[str] = dataclass_field(default=frozenset(), init=False, compare=False)

    def __post_init__(self) -> None:
        lower = {name.lower() for name in self.names}
        object.__setattr__(self, "spellings", self.names | lower)


@dataclass(frozen=True, slots=True)
class Field:
    """One field: proto name (used in error paths), kind, cardinality, element type, oneof group.

    `plain` is the JSON type a value of this field may have with nothing more to check (str for
    a string field, dict for a Struct); it lets the parse pass skip most values in one test.
    """

    name: str
    kind: Kind
    repeated: bool = False
    message: str = ""  # element message name for MESSAGE and MAP
    enum: EnumType | None = None
    oneof: str = ""
    plain: type | None = dataclass_field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plain", _PLAIN_TYPES.get(self.kind))


@dataclass(frozen=True, slots=True)
class Message:
    """A message type: its type URL and its fields keyed by every accepted JSON spelling."""

    type_url: str
    fields: Mapping[str, Field]


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _enum(name: str, *values: str) -> EnumType:
    return EnumType(TYPE_URL_PREFIX + name, frozenset(values))


def _message(name: str, *fields: Field, type_url: str = "") -> tuple[str, Message]:
    by_key: dict[str, Field] = {}
    for field in fields:
        by_key[field.name] = field
        by_key[_camel(field.name)] = field
    return name, Message(type_url or TYPE_URL_PREFIX + name, by_key)


def _msg(name: str, message: str, *, repeated: bool = False, oneof: str = "") -> Field:
    return Field(name, Kind.MESSAGE, repeated, message, oneof=oneof)


S, B, I32, I64, F, D, BY, ST, V, OP = (
    Kind.STRING,
    Kind.BOOL,
    Kind.INT32,
    Kind.INT64,
    Kind.FLOAT,
    Kind.DOUBLE,
    Kind.BYTES,
    Kind.STRUCT,
    Kind.VALUE,
    Kind.OPAQUE,
)

TYPE_ENUM = _enum(
    "Type", "TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"
)
MODE_ENUM = _enum(
    "FunctionCallingConfig.Mode", "MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"
)
HARM_CATEGORY_ENUM = _enum(
    "HarmCategory",
    "HARM_CATEGORY_UNSPECIFIED",
    "HARM_CATEGORY_DEROGATORY",
    "HARM_CATEGORY_TOXICITY",
    "HARM_CATEGORY_VIOLENCE",
    "HARM_CATEGORY_SEXUAL",
    "HARM_CATEGORY_MEDICAL",
    "HARM_CATEGORY_DANGEROUS",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
    "HARM_CATEGORY_JAILBREAK",
    "HARM_CATEGORY_IMAGE_HATE",
    "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
    "HARM_CATEGORY_IMAGE_HARASSMENT",
    "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
)
THRESHOLD_ENUM = _enum(
    "SafetySetting.HarmBlockThreshold",
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_NONE",
    "OFF",
)
THINKING_LEVEL_ENUM = _enum(
    "ThinkingConfig.ThinkingLevel",
    "THINKING_LEVEL_UNSPECIFIED",
    "MINIMAL",
    "LOW",
    "MEDIUM",
    "HIGH",
)
MODALITY_ENUM = _enum(
    "GenerationConfig.Modality", "MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO", "VIDEO"
)
MEDIA_RESOLUTION_ENUM = _enum(
    "GenerationConfig.MediaResolution",
    "MEDIA_RESOLUTION_UNSPECIFIED",
    "MEDIA_RESOLUTION_LOW",
    "MEDIA_RESOLUTION_MEDIUM",
    "MEDIA_RESOLUTION_HIGH",
    "MEDIA_RESOLUTION_ULTRA_HIGH",
)
LANGUAGE_ENUM = _enum("ExecutableCode.Language", "LANGUAGE_UNSPECIFIED", "PYTHON")
OUTCOME_ENUM = _enum(
    "CodeExecutionResult.Outcome",
    "OUTCOME_UNSPECIFIED",
    "OUTCOME_OK",
    "OUTCOME_FAILED",
    "OUTCOME_DEADLINE_EXCEEDED",
)
BEHAVIOR_ENUM = _enum("FunctionDeclaration.Behavior", "UNSPECIFIED", "BLOCKING", "NON_BLOCKING")
SCHEDULING_ENUM = _enum(
    "FunctionResponse.Scheduling", "SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"
)


def _enum_field(name: str, enum: EnumType, *, repeated: bool = False) -> Field:
    return Field(name, Kind.ENUM, repeated, enum=enum)


# The `data` oneof of Part: exactly one of these may be set (docs/reference/gemini.md#request-body).
PART_DATA_FIELDS = (
    "text",
    "inline_data",
    "file_data",
    "function_call",
    "function_response",
    "executable_code",
    "code_execution_result",
    "tool_call",
    "tool_response",
)

_GENERATE_CONTENT_FIELDS = (
    Field("model", S),
    _msg("system_instruction", "Content"),
    _msg("contents", "Content", repeated=True),
    _msg("tools", "Tool", repeated=True),
    _msg("tool_config", "ToolConfig"),
    _msg("safety_settings", "SafetySetting", repeated=True),
    _msg("generation_config", "GenerationConfig"),
    Field("cached_content", S),
    Field("service_tier", V),
)

MESSAGES: Mapping[str, Message] = dict(
    [
        _message("GenerateContentRequest", *_GENERATE_CONTENT_FIELDS),
        _message(
            "CountTokensRequest",
            Field("model", S),
            _msg("contents", "Content", repeated=True),
            _msg("generate_content_request", "GenerateContentRequest"),
        ),
        _message(
            "Content",
            Field("role", S),
            _msg("parts", "Part", repeated=True),
        ),
        _message(
            "Part",
            Field("text", S, oneof="data"),
            _msg("inline_data", "Blob", oneof="data"),
            _msg("file_data", "FileData", oneof="data"),
            _msg("function_call", "FunctionCall", oneof="data"),
            _msg("function_response", "FunctionResponse", oneof="data"),
            _msg("executable_code", "ExecutableCode", oneof="data"),
            _msg("code_execution_result", "CodeExecutionResult", oneof="data"),
            Field("tool_call", OP, oneof="data"),
            Field("tool_response", OP, oneof="data"),
            Field("thought", B),
            Field("thought_signature", BY),
            Field("video_metadata", OP, oneof="metadata"),
            Field("media_resolution", OP),
            Field("part_metadata", ST),
        ),
        _message("Blob", Field("mime_type", S), Field("data", BY)),
        _message("FileData", Field("mime_type", S), Field("file_uri", S)),
        _message("FunctionCall", Field("id", S), Field("name", S), Field("args", ST)),
        _message(
            "FunctionResponse",
            Field("id", S),
            Field("name", S),
            Field("response", ST),
            _msg("parts", "FunctionResponsePart", repeated=True),
            Field("will_continue", B),
            _enum_field("scheduling", SCHEDULING_ENUM),
        ),
        _message(
            "FunctionResponsePart",
            _msg("inline_data", "FunctionResponseBlob", oneof="data"),
            _msg("file_data", "FileData", oneof="data"),
        ),
        _message("FunctionResponseBlob", Field("mime_type", S), Field("data", BY)),
        _message(
            "ExecutableCode",
            Field("id", S),
            _enum_field("language", LANGUAGE_ENUM),
            Field("code", S),
        ),
        _message(
            "CodeExecutionResult",
            Field("id", S),
            _enum_field("outcome", OUTCOME_ENUM),
            Field("output", S),
        ),
        _message(
            "Tool",
            _msg("function_declarations", "FunctionDeclaration", repeated=True),
            Field("google_search_retrieval", OP),
            Field("code_execution", OP),
            Field("google_search", OP),
            Field("url_context", OP),
            Field("computer_use", OP),
            Field("file_search", OP),
            Field("google_maps", OP),
            Field("mcp_servers", OP, repeated=True),
        ),
        _message(
            "FunctionDeclaration",
            Field("name", S),
            Field("description", S),
            _msg("parameters", "Schema"),
            Field("parameters_json_schema", V),
            _msg("response", "Schema"),
            Field("response_json_schema", V),
            _enum_field("behavior", BEHAVIOR_ENUM),
        ),
        # Exactly the docs/reference/gemini.md#schema list (Node ISchema v3.7.0); nothing else is a
        # Schema field.
        _message(
            "Schema",
            _enum_field("type", TYPE_ENUM),
            Field("format", S),
            Field("title", S),
            Field("description", S),
            Field("nullable", B),
            Field("enum", S, repeated=True),
            Field("max_items", I64),
            Field("min_items", I64),
            Field("properties", Kind.MAP, message="Schema"),
            Field("required", S, repeated=True),
            Field("min_properties", I64),
            Field("max_properties", I64),
            Field("min_length", I64),
            Field("max_length", I64),
            Field("pattern", S),
            Field("example", V),
            _msg("any_of", "Schema", repeated=True),
            Field("property_ordering", S, repeated=True),
            Field("default", V),
            _msg("items", "Schema"),
            Field("minimum", D),
            Field("maximum", D),
        ),
        _message(
            "ToolConfig",
            _msg("function_calling_config", "FunctionCallingConfig"),
            Field("retrieval_config", OP),
        ),
        _message(
            "FunctionCallingConfig",
            _enum_field("mode", MODE_ENUM),
            Field("allowed_function_names", S, repeated=True),
        ),
        _message(
            "SafetySetting",
            _enum_field("category", HARM_CATEGORY_ENUM),
            _enum_field("threshold", THRESHOLD_ENUM),
        ),
        _message(
            "GenerationConfig",
            Field("candidate_count", I32),
            Field("stop_sequences", S, repeated=True),
            Field("max_output_tokens", I32),
            Field("temperature", F),
            Field("top_p", F),
            Field("top_k", I32),
            Field("seed", I32),
            Field("presence_penalty", F),
            Field("frequency_penalty", F),
            Field("response_mime_type", S),
            _msg("response_schema", "Schema"),
            Field("response_json_schema", V),
            Field("response_logprobs", B),
            Field("logprobs", I32),
            _enum_field("response_modalities", MODALITY_ENUM, repeated=True),
            _enum_field("media_resolution", MEDIA_RESOLUTION_ENUM),
            Field("speech_config", OP),
            _msg("thinking_config", "ThinkingConfig"),
            Field("routing_config", OP),
            Field("model_selection_config", OP),
            Field("audio_timestamp", B),
            Field("enable_enhanced_civic_answers", B),
            Field("image_config", OP),
        ),
        _message(
            "ThinkingConfig",
            Field("include_thoughts", B),
            Field("thinking_budget", I32),
            _enum_field("thinking_level", THINKING_LEVEL_ENUM),
        ),
        # Code Assist (docs/reference/code-assist.md#request-envelope): the envelope, and the inner
        # request that also carries `session_id` and `labels`.
        _message(
            "CAGenerateContentRequest",
            Field("model", S),
            Field("project", S),
            Field("user_prompt_id", S),
            _msg("request", "VertexGenerateContentRequest"),
            Field("enabled_credit_types", S, repeated=True),
            type_url="type.googleapis.com/google.internal.cloud.code.v1internal.CAGenerateContentRequest",
        ),
        _message(
            "VertexGenerateContentRequest",
            *_GENERATE_CONTENT_FIELDS,
            Field("session_id", S),
            Field("labels", OP),
            type_url="type.googleapis.com/google.internal.cloud.code.v1internal.VertexGenerateContentRequest",
        ),
        _message(
            "CACountTokenRequest",
            _msg("request", "CountTokensRequest"),
            type_url="type.googleapis.com/google.internal.cloud.code.v1internal.CACountTokenRequest",
        ),
    ]
)
