"""Installed size of the runtime dependencies, measured the way the Dockerfile installs them.

``pip install --no-deps --target DIR -r requirements.txt`` into a fresh directory and the disk usage of DIR
summed, plus the two token rank files the image copies into ``token_ranks/`` (core/token_ranks.py). LiteLLM's
figure is its bench venv's site-packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def disk_usage_mib(root: Path) -> float:
    """Blocks actually allocated (like ``du -s``), MiB; hard links counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            try:
                stat = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            key = (stat.st_dev, stat.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += stat.st_blocks * 512
    return total / (1 << 20)


def install_runtime(target: Path) -> None:
    """``requirements.txt`` installed into ``target`` as the Dockerfile installs it."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-deps", "--target", str(target), "-r", str(REPO_ROOT / "requirements.txt")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def runtime_install_mib() -> dict[str, float]:
    """Install requirements.txt as the Dockerfile does and measure it, with the token rank files the image copies."""
    from core.token_ranks import ENCODINGS, rank_file

    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as target:
        install_runtime(Path(target))
        packages = disk_usage_mib(Path(target))
    ranks = sum(rank_file(name).stat().st_size for name in ENCODINGS) / (1 << 20)
    code = sum(disk_usage_mib(REPO_ROOT / part) for part in ("core", "handlers", "adapters"))
    return {"installed_mib": packages + ranks, "token_ranks_mib": ranks, "gateway_code_mib": code}


def site_packages_mib(venv: Path) -> dict[str, float]:
    """LiteLLM's bench venv: the whole site-packages and the ``litellm`` package alone."""
    found = sorted(venv.glob("lib/python*/site-packages"))
    if not found:
        return {}
    site = found[0]
    return {"site_packages_mib": disk_usage_mib(site), "litellm_pkg_mib": disk_usage_mib(site / "litellm")}
