"""OpenAI user content parts → Gemini parts.

Operations: `content_parts(content, path)` turns a message's `content` (a string or a
list of parts) into Gemini parts; `text_of(content, path)` reads text-only content
(system, developer and tool messages).

Mapping (one OpenAI part → one Gemini part):
- `text` → `{"text"}` (empty texts are dropped: Gemini rejects empty text parts).
- `image_url` with a base64 `data:` URI → `inlineData`; with an http(s) URL → `fileData`
  (`mimeType` only when the URL's extension names an image type).
- `file` with `file_data` (a base64 `data:` URI, or bare base64 with a `filename` whose
  extension names the type) → `inlineData`; `file_id` cannot be read by Gemini.
- `input_audio` (`wav` | `mp3`) → `inlineData` `audio/wav` | `audio/mp3`.
- `refusal` (assistant history) → `{"text"}`.
Anything else is a `RequestError` naming the part.
"""

from __future__ import annotations

import re
from typing import Any

from compat._errors import RequestError
from compat._openai.fields import JSONObject, describe, require_dict, require_list, require_str

_EXTENSION_MIME_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "html": "text/html",
    "json": "application/json",
    "wav": "audio/wav",
    "mp3": "audio/mp3",
}
_AUDIO_FORMATS = {"wav": "audio/wav", "mp3": "audio/mp3"}


def text_of(content: object, path: str) -> str:
    """Text-only content (a string or a list of text parts), the parts joined with "\\n"."""
    if isinstance(content, str):
        return content
    texts = []
    for index, raw_part in enumerate(require_list(content, path)):
        part_path = f"{path}[{index}]"
        part = require_dict(raw_part, part_path)
        if part.get("type") != "text":
            raise RequestError(f"{part_path}.type", "only text parts are allowed here")
        texts.append(require_str(part.get("text"), f"{part_path}.text"))
    return "\n".join(texts)


def content_parts(content: object, path: str) -> list[JSONObject]:
    """Gemini parts for a user or assistant `content`; null content has no parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = []
    for index, raw_part in enumerate(require_list(content, path)):
        part = _gemini_part(require_dict(raw_part, f"{path}[{index}]"), f"{path}[{index}]")
        if part is not None:
            parts.append(part)
    return parts


def _gemini_part(part: JSONObject, path: str) -> JSONObject | None:
    kind = part.get("type")
    if kind in ("text", "refusal"):
        text = require_str(part.get(kind), f"{path}.{kind}")
        return {"text": text} if text else None
    if kind == "image_url":
        return _image_part(require_dict(part.get("image_url"), f"{path}.image_url"), path)
    if kind == "file":
        return _file_part(require_dict(part.get("file"), f"{path}.file"), f"{path}.file")
    if kind == "input_audio":
        return _audio_part(
            require_dict(part.get("input_audio"), f"{path}.input_audio"), f"{path}.input_audio"
        )
    raise RequestError(f"{path}.type", f"unsupported content part type {_shown(kind)}")


def _image_part(image: JSONObject, path: str) -> JSONObject:
    url_path = f"{path}.image_url.url"
    url = require_str(image.get("url"), url_path)
    if url.startswith("data:"):
        return {"inlineData": _parse_data_uri(url, url_path)}
    if url.startswith(("https://", "http://")):
        file_data: JSONObject = {"fileUri": url}
        mime_type = _mime_type_for_name(url.split("?", 1)[0].split("#", 1)[0])
        if mime_type is not None:
            file_data = {"mimeType": mime_type, "fileUri": url}
        return {"fileData": file_data}
    raise RequestError(url_path, "expected an http(s) URL or a base64 data: URI")


def _file_part(file: JSONObject, path: str) -> JSONObject:
    file_data = file.get("file_data")
    if file_data is None:
        if file.get("file_id") is not None:
            raise RequestError(f"{path}.file_id", "OpenAI file ids cannot be read by Gemini")
        raise RequestError(f"{path}.file_data", "a file part needs file_data")
    data = require_str(file_data, f"{path}.file_data")
    if data.startswith("data:"):
        return {"inlineData": _parse_data_uri(data, f"{path}.file_data")}
    filename = file.get("filename")
    mime_type = _mime_type_for_name(filename) if isinstance(filename, str) else None
    if mime_type is None:
        raise RequestError(
            f"{path}.filename", "bare base64 file_data needs a filename with a known extension"
        )
    return {"inlineData": {"mimeType": mime_type, "data": _checked_base64(data, path)}}


def _audio_part(audio: JSONObject, path: str) -> JSONObject:
    audio_format = audio.get("format")
    if audio_format not in _AUDIO_FORMATS:
        raise RequestError(f"{path}.format", "expected 'wav' or 'mp3'")
    data = require_str(audio.get("data"), f"{path}.data")
    return {
        "inlineData": {
            "mimeType": _AUDIO_FORMATS[audio_format],
            "data": _checked_base64(data, f"{path}.data"),
        }
    }


def _parse_data_uri(uri: str, path: str) -> JSONObject:
    header, comma, data = uri[len("data:") :].partition(",")
    mime_type, _, encoding = header.partition(";")
    if not comma or encoding.lower() != "base64" or "/" not in mime_type:
        raise RequestError(path, "expected a data URI of the form data:<mime/type>;base64,<data>")
    return {"mimeType": mime_type.lower(), "data": _checked_base64(data, path)}


_BASE64 = re.compile(r"[A-Za-z0-9+/=_-]+")


def _checked_base64(data: str, path: str) -> str:
    # Gemini's proto JSON parser accepts standard and URL-safe base64; anything else is a 400
    # upstream, so it is the client's error here, with the client's path.
    if _BASE64.fullmatch(data) is None:
        raise RequestError(path, "expected non-empty base64 data")
    return data


def _mime_type_for_name(name: str) -> str | None:
    _, dot, extension = name.rpartition(".")
    return _EXTENSION_MIME_TYPES.get(extension.lower()) if dot else None


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else describe(value)
