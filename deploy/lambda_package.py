"""``python -m deploy.lambda_package``: the AWS Lambda deployment package (a zip) of the gateway role.

It holds the code (``core``, ``handlers``, ``adapters``), the token rank files (``token_ranks/``, as in the function
image) and only the runtime dependencies the gateway role imports:
not fdk or httptools (OCI Functions only), tiktoken or pypdf (the ingest role). Wheels are chosen for Lambda's
python3.12 runtime (Amazon Linux 2023, glibc 2.34), so manylinux_2_28 wheels load as well as manylinux2014 ones.

``--from-installed`` copies the same distributions from the running Python's environment instead of asking pip
(offline; the package then matches this machine's platform, which is what the tests use).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODE = ("core", "handlers", "adapters")
# Imported by the OCI Functions adapter or the ingest role only.
NOT_FOR_LAMBDA = frozenset({"fdk", "httptools", "tiktoken", "pypdf"})
HANDLER = "adapters.aws_lambda.lambda_handler"


def lambda_pins(requirements: Path = REPO / "requirements.txt") -> list[str]:
    """``name==version`` lines of the runtime set the gateway role needs on Lambda."""
    pins = []
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and _name(line) not in NOT_FOR_LAMBDA:
            pins.append(line)
    return pins


def _name(pin: str) -> str:
    return re.split(r"[=<>!~\[; ]", pin, maxsplit=1)[0].lower().replace("_", "-")


def install_with_pip(pins: list[str], target: Path, python_version: str, arch: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--target", str(target), "--implementation", "cp", "--python-version", python_version,
                    "--platform", f"manylinux_2_28_{arch}", "--platform", f"manylinux2014_{arch}",
                    "--only-binary=:all:", *pins], check=True)


def copy_installed(pins: list[str], target: Path) -> None:
    """The files of each pinned distribution as installed in this environment (the pinned version, or an error)."""
    for pin in pins:
        name, _, version = pin.partition("==")
        dist = importlib.metadata.distribution(name)
        if version and dist.version != version:
            raise SystemExit(f"{name} {dist.version} is installed, the package needs {version}")
        for file in dist.files or ():
            source = Path(dist.locate_file(file))
            if file.parts[0] == ".." or "__pycache__" in file.parts or not source.is_file():
                continue
            (target / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / file)


def add_code(target: Path) -> None:
    for package in CODE:
        shutil.copytree(REPO / package, target / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def add_token_ranks(target: Path) -> None:
    """The two rank files token-id input is decoded with, in ``token_ranks/`` as in the function image (data only:
    nothing else of bpe-openai is installed)."""
    from core.token_ranks import ENCODINGS, rank_file

    (target / "token_ranks").mkdir()
    for name in ENCODINGS:
        shutil.copy2(rank_file(name), target / "token_ranks" / f"{name}.tiktoken.gz")


def write_zip(source: Path, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())


def build(output: Path, work: Path, *, from_installed: bool = False, python_version: str = "3.12",
          arch: str = "x86_64") -> Path:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    pins = lambda_pins()
    if from_installed:
        copy_installed(pins, work)
    else:
        install_with_pip(pins, work, python_version, arch)
    add_token_ranks(work)
    add_code(work)
    write_zip(work, output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.lambda_package", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("build/gateway-lambda.zip"))
    parser.add_argument("--work-dir", type=Path, default=Path("build/lambda"))
    parser.add_argument("--python-version", default="3.12", help="Lambda runtime (python3.12 or later)")
    parser.add_argument("--arch", choices=("x86_64", "aarch64"), default="x86_64",
                        help="aarch64 for a function created with --architectures arm64")
    parser.add_argument("--from-installed", action="store_true",
                        help="copy the dependencies from this Python's environment (offline, this platform)")
    args = parser.parse_args(argv)
    zip_path = build(args.output, args.work_dir, from_installed=args.from_installed,
                     python_version=args.python_version, arch=args.arch)
    print(f"{zip_path} ({zip_path.stat().st_size // 1024} KB); handler {HANDLER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
