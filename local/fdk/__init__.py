"""Run a function module under the real fdk, on a unix socket, the way OCI Functions does.

Three layers, each tested on its own: :mod:`.wire` (pure request building and response parsing),
:mod:`.process` (one fdk process with sync and async calls), :mod:`.pool` (N processes serving
concurrent calls one at a time each).
"""
