"""Installed size of the runtime dependencies, measured the way the Dockerfile installs them.

``pip install --no-deps --target DIR -r requirements.txt`` into a fresh directory, then the
native extension of bpe-openai is removed (the Dockerfile drops it: only its data files are
read), then the disk usage of DIR is summed. LiteLLM's figure is its bench venv's site-packages.
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


def runtime_install_mib() -> dict[str, float]:
    """Install requirements.txt as the Dockerfile does and measure it."""
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as target:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--target", target, "-r", str(REPO_ROOT / "requirements.txt")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = disk_usage_mib(Path(target))
        for binding in Path(target).glob("bpe_openai/_bindings*.so"):
            binding.unlink()
        after = disk_usage_mib(Path(target))
        code = sum(disk_usage_mib(REPO_ROOT / part) for part in ("core", "handlers", "adapters"))
    return {"installed_mib": after, "installed_with_bindings_mib": before, "gateway_code_mib": code}


def site_packages_mib(venv: Path) -> dict[str, float]:
    """LiteLLM's bench venv: the whole site-packages and the ``litellm`` package alone."""
    found = sorted(venv.glob("lib/python*/site-packages"))
    if not found:
        return {}
    site = found[0]
    return {"site_packages_mib": disk_usage_mib(site), "litellm_pkg_mib": disk_usage_mib(site / "litellm")}
