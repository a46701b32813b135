"""OpenAI ``/v1/moderations`` over OCI ``ApplyGuardrails``: :mod:`.request` and :mod:`.response` are pure,
:mod:`.service` does the I/O through :mod:`core.guardrails.service`."""
