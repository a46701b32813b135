"""``FDK_DEBUG``, the fdk's own switch, made safe: the fdk then logs every request header it receives.

Behind API Gateway those headers carry the caller's credentials (``Authorization``, API keys,
cookies) unless the deployment strips them. When the switch is on, the gateway logs one ERROR at
start (debugging stays possible, but nobody should leave it on) and installs a filter that rewrites
the value of every credential header in any line the fdk (or anything else) writes through the
logging handlers, before the line is emitted.

The fdk imports ``func.py`` only when the first call arrives, after it has logged that call's
headers, so the function starts through :mod:`adapters.fdk_main`, which installs the guard before
the fdk serves anything; :mod:`adapters.fdk` installs it again (once) for a plain ``fdk`` start.
"""

from __future__ import annotations

import logging
import re
from typing import Mapping

from core import logs

# The fdk's own list of what turns FDK_DEBUG on (fdk/log.py).
TRUTHY = ("true", "1", "t", "y", "yes", "yeah", "yup", "certainly", "uh-huh")
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "x-auth-token")
REDACTED = "<redacted>"
_HEADER_VALUE = re.compile(
    r"""(['"](?:fn-http-h-)?(?:""" + "|".join(re.escape(h) for h in CREDENTIAL_HEADERS) + r""")['"]\s*:\s*)"""
    r"""(\[[^\]]*\]|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with the value of every credential header in a printed header mapping replaced."""
    return _HEADER_VALUE.sub(lambda m: f"{m.group(1)}'{REDACTED}'", text)


class RedactCredentials(logging.Filter):
    """Rewrites a record whose message shows a credential header's value."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def guard(environ: Mapping[str, str]) -> bool:
    """When ``FDK_DEBUG`` is on: redact credentials from every log handler's lines and log one ERROR. True if on."""
    if str(environ.get("FDK_DEBUG", "")).strip().lower() not in TRUTHY:
        return False
    fdk_logger = logging.getLogger("fdk")
    if any(isinstance(f, RedactCredentials) for f in fdk_logger.filters):
        return True  # installed at start already
    logs.configure(str(environ.get("LOG_LEVEL") or "INFO"))
    redactor = RedactCredentials()
    fdk_logger.addFilter(redactor)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    logs.log_event("fdk_debug_enabled", logging.ERROR,
                   detail="FDK_DEBUG is set: the fdk logs every request header. Credential headers are redacted "
                          "from its lines, but unset FDK_DEBUG in a deployed function.")
    return True
