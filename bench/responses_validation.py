"""What checking a Responses request costs a warm gateway process: msgspec (chosen) against pydantic.

``python -m bench.responses_validation [--runs N]``. Each sample is a fresh interpreter that first imports what
the gateway role already holds (router, chat service, OCI client), then times the import of the validation
library and schema plus the first validation of a Codex-shaped request, then the next 1000 validations. The
pydantic side declares the same shape (items, content parts and tools as type-discriminated unions, unknown
top-level fields refused), so the two numbers compare like for like.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

_BASELINE = "import handlers.router, core.chat.service, core.oci.client, core.chat.translate"

_MSGSPEC = """
import time, json
CODEX = json.load(open("tests/fixtures/responses/codex_request.json"))
t0 = time.perf_counter()
from core.responses.request import parse_create_request
parse_create_request(CODEX)
t1 = time.perf_counter()
for _ in range(1000):
    parse_create_request(CODEX)
t2 = time.perf_counter()
print(json.dumps({"first_ms": (t1 - t0) * 1000, "each_us": (t2 - t1) * 1000}))
"""

_PYDANTIC = """
import time, json
CODEX = json.load(open("tests/fixtures/responses/codex_request.json"))
t0 = time.perf_counter()
from typing import Annotated, Any, Literal, Optional, Union
from pydantic import BaseModel, ConfigDict, Field

class InputText(BaseModel):
    type: Literal["input_text"]; text: str
class InputImage(BaseModel):
    type: Literal["input_image"]; image_url: Optional[str] = None; file_id: Optional[str] = None
    detail: Optional[Literal["auto", "low", "high", "original"]] = None
class InputFile(BaseModel):
    type: Literal["input_file"]; file_id: Optional[str] = None
class OutputText(BaseModel):
    type: Literal["output_text"]; text: str
class Refusal(BaseModel):
    type: Literal["refusal"]; refusal: str
Part = Annotated[Union[InputText, InputImage, InputFile, OutputText, Refusal], Field(discriminator="type")]
ToolPart = Annotated[Union[InputText, InputImage, InputFile], Field(discriminator="type")]
class Message(BaseModel):
    type: Literal["message"]; role: Literal["user", "assistant", "system", "developer"]
    content: Union[str, list[Part]]
class FunctionCall(BaseModel):
    type: Literal["function_call"]; call_id: str; name: str; arguments: Union[str, dict[str, Any]] = ""
class FunctionCallOutput(BaseModel):
    type: Literal["function_call_output"]; call_id: str; output: Union[str, list[ToolPart]]
class CustomToolCall(BaseModel):
    type: Literal["custom_tool_call"]; call_id: str; name: str; input: str
class CustomToolCallOutput(BaseModel):
    type: Literal["custom_tool_call_output"]; call_id: str; output: Union[str, list[ToolPart]]
class ExecAction(BaseModel):
    type: Literal["exec"]; command: list[str]; env: Optional[dict[str, str]] = None
    timeout_ms: Optional[int] = None; user: Optional[str] = None; working_directory: Optional[str] = None
class LocalShellCall(BaseModel):
    type: Literal["local_shell_call"]; action: ExecAction; call_id: Optional[str] = None
class Reasoning(BaseModel):
    type: Literal["reasoning"]
class WebSearchCall(BaseModel):
    type: Literal["web_search_call"]
Item = Annotated[Union[Message, FunctionCall, FunctionCallOutput, CustomToolCall, CustomToolCallOutput,
                       LocalShellCall, Reasoning, WebSearchCall], Field(discriminator="type")]
class FunctionTool(BaseModel):
    type: Literal["function"]; name: str; parameters: Optional[dict[str, Any]] = None
    strict: Optional[bool] = None; description: Optional[str] = None
class Grammar(BaseModel):
    type: Literal["grammar"]; definition: str; syntax: Literal["lark", "regex"]
class CustomTool(BaseModel):
    type: Literal["custom"]; name: str; description: Optional[str] = None; format: Optional[Grammar] = None
class LocalShellTool(BaseModel):
    type: Literal["local_shell"]
class WebSearchTool(BaseModel):
    type: Literal["web_search"]
Tool = Annotated[Union[FunctionTool, CustomTool, LocalShellTool, WebSearchTool], Field(discriminator="type")]
class ReasoningConfig(BaseModel):
    effort: Optional[str] = None; summary: Optional[Literal["auto", "concise", "detailed"]] = None
class TextConfig(BaseModel):
    verbosity: Optional[Literal["low", "medium", "high"]] = None
class CreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str; input: Union[str, list[Item], None] = None; instructions: Optional[str] = None
    tools: Optional[list[Tool]] = None; tool_choice: Optional[Union[Literal["none", "auto", "required"],
                                                                     dict[str, Any]]] = None
    parallel_tool_calls: Optional[bool] = None; reasoning: Optional[ReasoningConfig] = None
    text: Optional[TextConfig] = None; store: Optional[bool] = None; stream: Optional[bool] = None
    include: Optional[list[str]] = None; prompt_cache_key: Optional[str] = None
    client_metadata: Optional[dict[str, str]] = None

CreateRequest.model_validate(CODEX)
t1 = time.perf_counter()
for _ in range(1000):
    CreateRequest.model_validate(CODEX)
t2 = time.perf_counter()
print(json.dumps({"first_ms": (t1 - t0) * 1000, "each_us": (t2 - t1) * 1000}))
"""


def sample(code: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", f"{_BASELINE}\n{code}"], cwd=REPO_ROOT, check=True,
                         capture_output=True, text=True, env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""})
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(runs: int) -> dict[str, dict[str, float]]:
    results = {}
    for name, code in (("msgspec", _MSGSPEC), ("pydantic", _PYDANTIC)):
        samples = [sample(code) for _ in range(runs)]
        results[name] = {
            "first_ms_median": statistics.median(s["first_ms"] for s in samples),
            "first_ms_min": min(s["first_ms"] for s in samples),
            "each_us_median": statistics.median(s["each_us"] for s in samples),
        }
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.responses_validation", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    for name, row in measure(args.runs).items():
        print(f"{name:9} import + schema + first validation: median {row['first_ms_median']:.1f} ms "
              f"(min {row['first_ms_min']:.1f} ms); each further validation {row['each_us_median']:.1f} us")


if __name__ == "__main__":
    main()
