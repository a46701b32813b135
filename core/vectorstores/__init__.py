"""Vector stores: each input bucket's chunks in PostgreSQL with pgvector, searchable in OpenAI's shapes.

Modules, one job each: :mod:`ids` (store, file and table names), :mod:`filters` (OpenAI attribute filters as
SQL), :mod:`request` (search and list requests checked), :mod:`database` (the connection: URL, TLS, types),
:mod:`store` (the tables: write a version, replace, delete, search, count), :mod:`service` (the OpenAI API).
psycopg is imported only by :mod:`database` and :mod:`store`, which only the ingest role and the gateway's
vector-store routes load.
"""
