"""The function's entry point: the fdk's own ``fdk func.py handler``, with the FDK_DEBUG guard installed first.

    python -m adapters.fdk_main /function/func.py handler

The fdk logs each call's headers (with ``FDK_DEBUG``) before it imports ``func.py``; starting here
puts :func:`adapters.fdk_debug.guard` in place before the first call. The adapter (what ``func.py`` names) is
imported before the fdk listens, so a configuration problem is logged when the function starts, not at the first
call; the first call would import it anyway.
"""

from __future__ import annotations

import os

from adapters import fdk_debug


def main() -> None:
    fdk_debug.guard(os.environ)
    import adapters.fdk  # noqa: F401 - logs configuration problems now (adapters.fdk reports at import)
    from fdk.scripts.fdk import main as fdk_main

    fdk_main()


if __name__ == "__main__":
    main()
