"""Guardrails on OCI Generative AI ``ApplyGuardrails``: content moderation, prompt injection and PII.

Pure steps: :mod:`.policy` (modes and how policies combine), :mod:`.detect` (OCI bodies, answers,
reports), :mod:`.mask` (PII spans -> ``[LABEL]``), :mod:`.conversation` (which chat texts are checked
and how verdicts change a completion or a stream). :mod:`.service` does the I/O and is what every
API calls; :mod:`.chat` applies it to chat completions.
"""
