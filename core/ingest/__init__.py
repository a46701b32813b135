"""Document ingestion: Object Storage events in, embedded chunks out (the ``ingest`` role).

Modules, one job each: :mod:`events` (the CloudEvent), :mod:`config` (settings, bucket allow-check,
output names), :mod:`detect` (document type), :mod:`extract` (incremental text extraction),
:mod:`tokenizer` and :mod:`chunking` (token chunks), :mod:`output` (lines, parts, manifest,
dead letters), :mod:`pipeline` (the I/O), :mod:`backfill` (existing objects).
"""
