"""Test helpers over :mod:`core.runtime`."""

from __future__ import annotations

from core import runtime


def reset_settings() -> None:
    """Re-read the environment on the next call (:func:`core.runtime.reset`), keeping credentials a test installed."""
    credentials = runtime.loaded_credentials()
    runtime.reset()
    if credentials is not None:
        runtime.set_credentials(credentials)
