"""What each ``GATEWAY_ROLE`` loads, and what of the image that is: ``python -m bench.roles``.

For each role a fresh process imports the fdk adapter and every handler the role's table names
(:data:`handlers.router.ROLES`), then walks the role's lazy paths (:data:`LAZY_PATHS`: the imports and
files a request of that kind loads on first use). The top-level packages it ends with are matched to
the runtime dependencies as the Dockerfile installs them (:func:`bench.footprint.install_runtime`), and
the token rank files are counted when a role reads them. The result says how much of the one image
each role needs, i.e. what a per-role image would save.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.footprint import REPO_ROOT, disk_usage_mib, install_runtime

# Every role serves through the fdk and signs OCI calls (a resource principal, as in OCI Functions).
_COMMON = (
    ("the fdk runtime", "import fdk.scripts.fdk, fdk.async_http.server"),
    ("a signed OCI call", "import core.oci.client, core.oci.auth, core.oci.credentials.resource_principal"),
)
# Work a role does on first use, beyond importing its handlers: (what, Python statement).
LAZY_PATHS: dict[str, tuple[tuple[str, str], ...]] = {
    "gateway": _COMMON + (
        ("chat (streamed)", "import core.chat.relay, core.chat.stream"),
        ("image URLs in a chat", "import core.chat.images"),
        ("token-id embeddings input", "from core.embeddings.tokens import get_table; get_table('cl100k_base')"),
        ("responses", "import core.responses.service, core.responses.request"),
        ("guardrails", "import core.guardrails.service, core.guardrails.chat"),
    ),
    "ingest": _COMMON + (
        ("objects read and written", "import core.oci.objectstorage"),
        ("chunking", "from core.ingest.tokenizer import get_counter; get_counter()"),
        ("PDF text", "import pypdf"),
        ("ingest pipeline", "import core.ingest.pipeline"),
    ),
    "authorizer": _COMMON + (("API keys in Vault", "import core.oci.vault"),),
}
# Top-level import names that belong to the runtime dependencies, by the directory pip installs them in.
_PROBE = r"""
import importlib, json, sys
sys.path.insert(0, {repo!r})
import os
os.environ["GATEWAY_ROLE"] = {role!r}
import adapters.fdk
from handlers.router import ROLES
role = ROLES[{role!r}]
modules = {{r.module for r in role.routes}} | {{s.module for s in role.shapes}}
if role.fallback is not None:
    modules.add(role.fallback.module)
for name in sorted(modules):
    importlib.import_module(name)
done = []
for what, statement in {lazy!r}:
    exec(statement)
    done.append(what)
import core
from core import runtime
ranks = sorted(k[1] for k in runtime._state.memo if isinstance(k, tuple) and k[0] in ("token_table", "token_counter"))
print(json.dumps({{"top": sorted({{m.split(".")[0] for m in sys.modules}}), "paths": done, "encodings": ranks}}))
"""


def role_imports(role: str) -> dict[str, Any]:
    code = _PROBE.format(repo=str(REPO_ROOT), role=role, lazy=LAZY_PATHS.get(role, ()))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure() -> dict[str, Any]:
    """Per role: the runtime packages it imports and their installed size, against the whole install."""
    from core.token_ranks import ENCODINGS, rank_file

    rank_mib = {name: rank_file(name).stat().st_size / (1 << 20) for name in ENCODINGS}
    with tempfile.TemporaryDirectory(prefix="bench-roles-") as tmp:
        target = Path(tmp)
        install_runtime(target)
        sizes = {entry.name: disk_usage_mib(entry) if entry.is_dir() else entry.stat().st_size / (1 << 20)
                 for entry in target.iterdir() if not entry.name.endswith((".dist-info", ".pth"))}
        dist_info = sum(disk_usage_mib(e) for e in target.iterdir() if e.name.endswith(".dist-info"))
    code_mib = sum(disk_usage_mib(REPO_ROOT / part) for part in ("core", "handlers", "adapters"))
    whole = sum(sizes.values()) + dist_info + sum(rank_mib.values())
    roles: dict[str, Any] = {}
    for role in LAZY_PATHS:
        found = role_imports(role)
        packages = {name: round(size, 2) for name, size in sizes.items()
                    if name in found["top"] or name.split(".")[0] in found["top"]}
        needed = sum(packages.values()) + sum(rank_mib[e] for e in found["encodings"] if e in rank_mib)
        roles[role] = {"packages": dict(sorted(packages.items(), key=lambda kv: -kv[1])),
                       "encodings": found["encodings"], "paths": found["paths"], "needed_mib": round(needed, 1),
                       "unused_mib": round(whole - needed, 1)}
    return {"install_mib": round(whole, 1), "code_mib": round(code_mib, 1),
            "token_ranks_mib": {k: round(v, 2) for k, v in rank_mib.items()},
            "packages_mib": {k: round(v, 2) for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])},
            "roles": roles}


def main() -> int:
    print(json.dumps(measure(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
