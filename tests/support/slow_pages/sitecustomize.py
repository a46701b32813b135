"""On a test function's ``PYTHONPATH``: every PDF page pypdf reads takes ``TEST_PDF_PAGE_SECONDS`` more wall time.

The PDF reader child inherits the function's environment, so deadline tests get pages of a known cost on any
machine, loaded or idle (a page made slow by CPU work alone is fast on one machine and stalls on another).
"""

import os

_PAGE_SECONDS = float(os.environ.get("TEST_PDF_PAGE_SECONDS") or 0)

if _PAGE_SECONDS > 0:
    import time

    from pypdf import PageObject

    _extract_text = PageObject.extract_text

    def _slow_extract_text(self, *args, **kwargs):
        time.sleep(_PAGE_SECONDS)
        return _extract_text(self, *args, **kwargs)

    PageObject.extract_text = _slow_extract_text
