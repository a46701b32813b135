"""The OpenAI Agents SDK (its default Responses model) running an agent with a function tool through the gateway:
the real fdk, the API-Gateway-like front and the OCI emulator, tracing off (it would call OpenAI)."""

from __future__ import annotations

import asyncio
import os

import pytest

os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"  # read by the SDK on first use: set before any agent runs

from agents import Agent, OpenAIResponsesModel, Runner, function_tool  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from tests.contract.conftest import CHAT_MODEL, chat_calls  # noqa: E402

pytestmark = pytest.mark.integration


@function_tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"sunny in {city}"


def agent_for(front, model: str = CHAT_MODEL) -> Agent:
    client = AsyncOpenAI(base_url=f"{front.url}/v1", api_key="sk-agents", max_retries=0)
    return Agent(name="weather", instructions="Answer with the tool's result.", tools=[get_weather],
                 model=OpenAIResponsesModel(model=model, openai_client=client))


@pytest.mark.parametrize("model", [CHAT_MODEL, "cohere.command-a-03-2025"])
def test_agent_calls_its_tool_and_answers(front, emulator, model):
    result = asyncio.run(Runner.run(agent_for(front, model), "What is the weather in Lima"))
    assert result.final_output == "Echo: sunny in Lima"
    first, second = chat_calls(emulator)
    assert first.status == second.status == 200
    tool_names = [t.get("name") or (t.get("function") or {}).get("name") for t in first.json["chatRequest"]["tools"]]
    assert tool_names == ["get_weather"]
    kinds = [item.type for item in result.new_items if item.type != "message_output_item"]
    assert kinds == ["tool_call_item", "tool_call_output_item"]  # Cohere may also say what it is about to do
    assert result.new_items[-1].type == "message_output_item"


def test_streamed_agent_run_folds_the_events(direct_gateway, emulator):
    client = AsyncOpenAI(base_url=f"{direct_gateway}/v1", api_key="sk-agents", max_retries=0)
    agent = Agent(name="weather", instructions="Answer with the tool's result.", tools=[get_weather],
                  model=OpenAIResponsesModel(model=CHAT_MODEL, openai_client=client))

    async def run() -> tuple[str, list[str]]:
        result = Runner.run_streamed(agent, "What is the weather in Quito")
        kinds = [event.data.type async for event in result.stream_events() if event.type == "raw_response_event"]
        return result.final_output, kinds

    final, kinds = asyncio.run(run())
    assert final == "Echo: sunny in Quito"
    assert kinds.count("response.completed") == 2 and "response.function_call_arguments.delta" in kinds
    assert "response.output_text.delta" in kinds
