"""OCI Functions entry point: ``fdk func.py handler`` (the adapter itself is :mod:`adapters.fdk`)."""

from adapters.fdk import handler

__all__ = ["handler"]
