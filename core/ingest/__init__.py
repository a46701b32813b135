"""Document ingestion: Object Storage events in, embedded chunks out (the ``ingest`` role).

Modules, one job each: :mod:`events` (the CloudEvent), :mod:`config` (settings, bucket allow-check,
output names), :mod:`detect` (document type), :mod:`extract` (incremental text extraction),
:mod:`pdf` and :mod:`pdf_worker` (PDF pages in a child process), :mod:`tokenizer` and :mod:`chunking`
(token chunks), :mod:`output` (lines, parts, manifest, dead letters), :mod:`outputs` (the output
bucket), :mod:`run` (one object's run), :mod:`pipeline` (one event, decided and recorded),
:mod:`continuation` (long objects), :mod:`reconcile` (the scheduled reconciliation), :mod:`backfill`
(existing objects).
"""
