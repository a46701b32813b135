"""Record the digests of pushed images as Terraform variables: ``python3 -m deploy.images OUT IMAGE...``.

``make push`` calls it after ``docker push``: each image's repository digest (what OCIR serves for the tag
just pushed) goes into ``OUT`` (``terraform/images.auto.tfvars.json``), which ``terraform apply`` reads by
itself. A new digest is a changed ``image_digest``, so the next apply rolls the functions to the new image even
when a tag was pushed again. Standard library only: it runs with any ``python3``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

# Terraform variables for the image and its digest, per Dockerfile target, in the order ``make push`` names them.
VARIABLES = (("function_image", "function_image_digest"), ("streaming_image", "streaming_image_digest"))

Inspect = Callable[[str], list[str]]


def docker_repo_digests(image: str) -> list[str]:
    """``repo@sha256:...`` entries Docker knows for a local image (filled in by ``docker push``)."""
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", image],
                         check=True, capture_output=True, text=True).stdout
    return list(json.loads(out.strip() or "[]") or [])


def digest_of(image: str, repo_digests: Sequence[str]) -> str:
    """The ``sha256:...`` digest of ``image``'s own repository (an image can be pushed to several)."""
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    for entry in repo_digests:
        name, _, digest = entry.partition("@")
        if name == repository and digest.startswith("sha256:"):
            return digest
    raise SystemExit(f"{image} has no digest in {repository}: was it pushed? (docker push {image})")


def record(out: Path, images: Sequence[str], inspect: Inspect = docker_repo_digests) -> dict[str, str]:
    """Write the variables of ``images`` (function image first) to ``out``; returns what was written."""
    if len(images) > len(VARIABLES):
        raise SystemExit(f"expected at most {len(VARIABLES)} images, got {len(images)}")
    values: dict[str, str] = {}
    for image, (image_var, digest_var) in zip(images, VARIABLES):
        values[image_var] = image
        values[digest_var] = digest_of(image, inspect(image))
    out.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print("usage: python3 -m deploy.images OUT.auto.tfvars.json IMAGE [IMAGE...]", file=sys.stderr)
        return 2
    values = record(Path(args[0]), args[1:])
    for name, value in values.items():
        print(f"{name} = {value}")
    print(f"written to {args[0]}: the next terraform apply deploys these images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
