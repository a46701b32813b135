"""Errors of the chat core, told in the caller's Responses terms.

The bridge runs a Responses request through the chat core, whose 400s name chat parameters
(``messages[4].content[1].image_url.url``, ``reasoning_effort``, ``tools[2].function.parameters``). A
:class:`ParamMap` built alongside the chat body knows where each chat field came from and rewrites the error's
``param`` (and the quoted parameter in its message) to the Responses field the caller sent
(``input[3].content[1].image_url``, ``reasoning.effort``, ``tools[5].parameters``).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from core.errors import APIError

# Chat parameter -> Responses parameter, for the fields the bridge fills from one Responses field.
TOP_LEVEL: dict[str, str] = {
    "messages": "input", "max_completion_tokens": "max_output_tokens", "reasoning_effort": "reasoning.effort",
    "response_format": "text.format", "response_format.json_schema": "text.format", "verbosity": "text.verbosity",
    "logprobs": "include", "tool_choice.function": "tool_choice", "tool_choice.type": "tool_choice",
}
# How the rest of a chat path reads under a Responses item of each kind (first match wins).
MESSAGE_FIELDS = ((".content", ".content"), (".role", ".role"))
CALL_FIELDS = ((".function.arguments", ".arguments"), (".function.name", ".name"), (".function", ""),
               (".id", ".call_id"))
OUTPUT_FIELDS = ((".tool_call_id", ".call_id"), (".content", ".output"))
TOOL_FIELDS = ((".function.parameters", ".parameters"), (".function.name", ".name"), (".function", ""))
PART_FIELDS = ((".image_url.url", ".image_url"), (".image_url.detail", ".detail"))
_LAST_SEGMENT = re.compile(r"(\.[^.\[\]]+|\[\d+\])$")
_MESSAGE_REF = re.compile(r"\bmessages\[\d+\]")  # chat messages named in an error's text


@dataclass(frozen=True)
class Source:
    """Where a chat field came from: a Responses parameter, and how deeper chat paths read under it."""

    param: str
    fields: tuple[tuple[str, str], ...] = ()
    whole: bool = False
    """Every deeper path reads as ``param`` itself (``instructions``, a stored conversation)."""


@dataclass
class ParamMap:
    sources: dict[str, Source] = field(default_factory=lambda: {k: Source(v) for k, v in TOP_LEVEL.items()})

    def add(self, chat_param: str, source: Source) -> None:
        self.sources[chat_param] = source

    def responses_param(self, chat_param: str) -> str:
        """The Responses parameter behind ``chat_param`` (itself when the name is the same in both APIs)."""
        prefix, rest = chat_param, ""
        while prefix:
            source = self.sources.get(prefix)
            if source is not None:
                return source.param if source.whole else source.param + _rest(rest, source.fields)
            cut = _LAST_SEGMENT.search(prefix)
            if cut is None:
                break
            prefix, rest = prefix[:cut.start()], prefix[cut.start():] + rest
        return chat_param

    def rewrite(self, error: APIError) -> APIError:
        """``error`` with its ``param`` (and the chat fields its message names) in Responses terms."""
        if not error.param:
            return error
        mapped = self.responses_param(error.param)
        if mapped == error.param:
            return error
        message = error.message.replace(f"'{error.param}'", f"'{mapped}'")
        message = _MESSAGE_REF.sub(lambda found: self.responses_param(found.group(0)), message)
        return APIError(error.status, message, type=error.type, param=mapped, code=error.code, headers=error.headers)

    @contextmanager
    def translating(self) -> Iterator[None]:
        """Raise the chat core's errors in Responses terms."""
        try:
            yield
        except APIError as exc:
            raise self.rewrite(exc) from None


def _rest(rest: str, fields: tuple[tuple[str, str], ...]) -> str:
    """A chat sub-path under a source, read under the Responses item (content parts keep their index)."""
    for chat_part, responses_part in fields:
        if rest == chat_part or rest.startswith(chat_part + ".") or rest.startswith(chat_part + "["):
            return responses_part + _part_rest(rest[len(chat_part):])
    return rest


def _part_rest(rest: str) -> str:
    """``[j].image_url.url`` -> ``[j].image_url``: a content part's fields under their Responses names."""
    found = re.match(r"^(\[\d+\])(.*)$", rest)
    if not found:
        return rest
    index, tail = found.groups()
    for chat_part, responses_part in PART_FIELDS:
        if tail == chat_part or tail.startswith(chat_part + "."):
            return index + responses_part + tail[len(chat_part):]
    return rest
