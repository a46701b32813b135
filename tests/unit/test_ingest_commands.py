"""The ingestion commands (backfill, reconcile) run by hand: a configuration problem is one line, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["core.ingest.backfill", "core.ingest.reconcile"])
def test_the_commands_without_credentials_say_so_in_one_line(command: str, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "INGEST_INPUT_BUCKETS": "docs-inbox",
           "INGEST_OUTPUT_BUCKET": "docs-embeddings", "OCI_REGION": "us-chicago-1"}
    result = subprocess.run([sys.executable, "-m", command, "--bucket", "docs-inbox"], env=env, capture_output=True,
                            text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: no OCI credentials found") and result.stderr.count("\n") == 1
