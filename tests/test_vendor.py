"""Vendored browser files are the ones VENDOR.json records (taken from npm packages)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "docs" / "assets" / "vendor"


def test_vendored_files_match_their_record():
    record = json.loads((VENDOR / "VENDOR.json").read_text())
    assert {"d3.min.js", "jquery.min.js", "require.js", "katex/katex.min.js"} <= set(record)
    assert record["d3.min.js"]["package"] == "d3@5.7.0"  # the version bertviz asks for
    for name, info in record.items():
        data = (VENDOR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"], name
