# The function image: one image for every role (GATEWAY_ROLE selects the job).
# `fn build` uses this Dockerfile when present; `docker build -t <ocir repo>:<tag> .` works the same.
FROM fnproject/python:3.11-dev AS build
WORKDIR /function
COPY requirements.txt .
# --no-deps: requirements.txt pins every runtime dependency, and fdk's declared extras
# (pytest, Cython, wheel) are not needed at run time.
RUN pip3 install --no-cache-dir --no-deps --target /python/ -r requirements.txt \
 && rm -f /python/bpe_openai/_bindings*.so
COPY func.py ./
COPY core ./core
COPY handlers ./handlers
COPY adapters ./adapters
RUN find /function /python -name '__pycache__' -prune -exec rm -rf {} + \
 && python3 -m compileall -q /function /python

FROM fnproject/python:3.11
WORKDIR /function
COPY --from=build /python /python
COPY --from=build /function /function
ENV PYTHONPATH=/function:/python
ENTRYPOINT ["/python/bin/fdk", "/function/func.py", "handler"]
