"""Photograph every console screen into docs/screens/ (the README shows them): the browser tests, run so.

    .venv/bin/python tests/screens.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    os.environ["CONTACTS_SCREENS"] = str(ROOT / "docs" / "screens")
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_console_browser.py")]))
