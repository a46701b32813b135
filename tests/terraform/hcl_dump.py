"""Print every ``*.tf`` file of a directory as JSON, parsed by python-hcl2 8.x.

Runs in the tools venv (``tests/terraform/tooling.py``), not in the test process, because
python-hcl2 and checkov's bc-python-hcl2 install the same ``hcl2`` module. Output:
``{"<file name>": <python-hcl2 dict with string quotes stripped and blocks marked>}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hcl2
from hcl2 import SerializationOptions


def main(directory: str) -> None:
    options = SerializationOptions(strip_string_quotes=True, with_comments=False)
    parsed = {}
    for path in sorted(Path(directory).glob("*.tf")):
        with open(path, encoding="utf-8") as handle:
            parsed[path.name] = hcl2.load(handle, serialization_options=options)
    json.dump(parsed, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
