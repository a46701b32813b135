"""Runs inside ``bench/.venv-litellm`` (never the project's venv): LiteLLM's ``oci/`` provider on the emulator.

Standard library plus LiteLLM only; no project imports. Two modes, driven by ``bench.litellm_side``:

* ``cold CONFIG``: ``import litellm`` and one ``litellm.completion(model="oci/...")``, then print
  one JSON line with the timings and this process's peak RSS (VmHWM), and exit.
* ``serve CONFIG``: print ``ready``, then for each stdin line ``chat`` / ``stream`` / ``embed`` /
  ``embed64`` (``encoding_format="base64"``) make that call and print the seconds it took (measured here, so pipe overhead is not counted);
  ``quit`` or EOF ends it.

CONFIG is a JSON file: ``{"api_base", "chat_model", "embed_model", "messages", "max_tokens",
"inputs", "creds": {oci_user, oci_fingerprint, oci_tenancy, oci_key_file, oci_region,
oci_compartment_id}}``.
"""

from __future__ import annotations

import json
import sys
import time


def vm_hwm_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    started = time.perf_counter()
    mode, config_path = sys.argv[1], sys.argv[2]
    with open(config_path) as fh:
        config = json.load(fh)
    import litellm  # the cost being measured

    imported = time.perf_counter()
    creds = config["creds"]
    common = dict(api_base=config["api_base"], **creds)

    def chat() -> None:
        reply = litellm.completion(model="oci/" + config["chat_model"], messages=config["messages"],
                                   max_tokens=config["max_tokens"], **common)
        assert reply.choices[0].message.content

    def stream() -> None:
        parts = []
        for chunk in litellm.completion(model="oci/" + config["chat_model"], messages=config["messages"],
                                        max_tokens=config["max_tokens"], stream=True, **common):
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        assert parts

    def embed(**extra: str) -> None:
        reply = litellm.embedding(model="oci/" + config["embed_model"], input=config["inputs"], **common, **extra)
        assert len(reply.data) == len(config["inputs"])

    if mode == "cold":
        chat()
        done = time.perf_counter()
        print(json.dumps({"import_s": imported - started, "first_call_s": done - imported,
                          "total_s": done - started, "vm_hwm_mib": vm_hwm_mib(),
                          "modules": len(sys.modules)}), flush=True)
        return 0
    calls = {"chat": chat, "stream": stream, "embed": embed, "embed64": lambda: embed(encoding_format="base64")}
    print("ready", flush=True)
    for line in sys.stdin:
        what = line.strip()
        if what in ("", "quit"):
            break
        begin = time.perf_counter()
        try:
            calls[what]()
            print(f"{time.perf_counter() - begin:.9f}", flush=True)
        except Exception as exc:  # report, keep serving: the parent counts failures
            print(f"error {type(exc).__name__}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
