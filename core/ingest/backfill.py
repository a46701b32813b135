"""Embed a bucket's existing objects: ``python -m core.ingest.backfill --bucket B [--namespace N]``.

For users who turn ingestion on for a bucket that already holds data, and to resume objects
whose run was cut short (``partial`` manifest) or failed for a retryable reason. It is the first pass
of the reconciliation (:mod:`core.ingest.reconcile`) alone: every listed object goes through the same
pipeline as an event (a synthesized ``createobject`` carrying the listed ETag), so the rules are
identical: an object whose complete manifest already names its current ETag is skipped without a
read, a permanent dead letter for the same ETag is kept. Outputs of deleted objects are left alone
(the reconciliation removes them).

Runs wherever credentials are (``OCI_*`` settings, ``~/.oci/config``, an instance principal)
with the function's settings in the environment (``INGEST_*``, ``OCI_REGION``...).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from core import runtime
from core.ingest.config import BucketRef, IngestConfig
from core.ingest.pipeline import Pipeline
from core.ingest.reconcile import Reconciliation, print_outcome, run_command


async def backfill(pipeline: Pipeline, bucket: str, namespace: str | None = None, *, prefix: str | None = None,
                   concurrency: int = 2, dry_run: bool = False,
                   report: Any = None) -> dict[str, int]:
    """Process every listed object; returns a count per outcome status."""
    run = Reconciliation(pipeline, [BucketRef(bucket, namespace)], concurrency=concurrency, remove_orphans=False,
                         dry_run=dry_run, prefix=prefix, report=report)
    return (await run.run()).counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.ingest.backfill", description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", required=True, help="input bucket to list")
    parser.add_argument("--namespace", help="Object Storage namespace (default: the tenancy's)")
    parser.add_argument("--prefix", help="only objects whose name starts with this")
    parser.add_argument("--concurrency", type=int, default=2, help="objects processed at the same time")
    parser.add_argument("--dry-run", action="store_true", help="list what would be processed, change nothing")
    args = parser.parse_args(argv)
    settings = runtime.settings()
    pipeline = Pipeline(IngestConfig.from_settings(settings), settings=settings)

    async def run() -> dict[str, int]:
        return await backfill(pipeline, args.bucket, args.namespace, prefix=args.prefix,
                              concurrency=args.concurrency, dry_run=args.dry_run, report=print_outcome)

    return run_command(run)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
