"""Cache keys, the manifest of rendered assets, and the freshness check.

Nothing here imports torch or transformers: ``--check`` and a frozen ``nox -s docs`` use it on a
machine that only has the documentation tools.

Layout of ``docs/generated/``::

    manifest.json        one entry per example: key, its parts, provenance, output checksums
    timings.json         duration of each example's last execution (the build report's table)
    <id>.txt / .png / .html   the raw outputs
    <id>.md              the fragment a page includes: output block plus caption
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from snippets.profiles import model_spec
from snippets.render.codehash import Example, function_hash, package_modules

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATED_DIR = REPO_ROOT / "docs" / "generated"
MANIFEST_NAME = "manifest.json"
TIMINGS_NAME = "timings.json"
MANIFEST_FORMAT = 1
DEFAULT_SEED = 1234
KEY_LIBRARIES = ("torch", "transformers")


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``path`` so that a reader (or a crash) sees the old file or the new, never half.

    The data goes to a temporary file in the same folder, is flushed to disk, then renamed over
    ``path`` (``os.replace`` is atomic on POSIX and Windows).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries that decide outputs (None: not installed)."""
    versions: dict[str, str | None] = {}
    for name in KEY_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _role_loaders() -> dict[str, str]:
    node = package_modules()["snippets.models"].nodes["ROLE_LOADERS"]
    assert isinstance(node, ast.Assign)
    return ast.literal_eval(node.value)


def model_identity(profile: str, role: str) -> dict[str, str]:
    """What identifies the model of ``role`` under ``profile``, for keys and provenance.

    ``revision`` is the hub commit, the npm tarball's sha256, the PyPI package version, or for a
    stand-in trained by the lecture the hash of its training code. ``loader`` hashes the code
    that loads it (``snippets/models.py``).
    """
    spec = model_spec(profile, role)
    revision = spec.revision
    if spec.source == "trained":
        module, function = spec.revision.split(":")
        revision = f"{spec.revision}@{function_hash(module, function)[:12]}"
    return {
        "role": role,
        "source": spec.source,
        "name": spec.name,
        "revision": revision,
        "stand_in": "yes" if spec.stand_in else "no",
        "loader": function_hash("snippets.models", _role_loaders()[role])[:12],
    }


@dataclass(frozen=True)
class RenderSettings:
    """What, besides code and models, decides an example's output."""

    profile: str
    device: str  # device class: cpu, cuda or mps
    seed: int = DEFAULT_SEED
    dtype: str = "float32"


def key_parts(example: Example, settings: RenderSettings) -> dict[str, Any]:
    """The parts of an example's cache key (each compared by ``--check`` to say why)."""
    return {
        "code": example.code_hash,
        "models": [model_identity(settings.profile, role) for role in example.roles],
        "profile": settings.profile,
        "device": settings.device,
        "seed": settings.seed,
        "dtype": settings.dtype,
        "versions": library_versions() if example.roles else {},
    }


def cache_key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def read_json(path: Path, default: Any) -> Any:
    """Read a JSON file; a missing file gives ``default``.

    Raises:
        ValueError: the file is not valid JSON (names the file).
    """
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from error


class ManifestError(ValueError):
    """The manifest cannot be read; the message names the file and what to do."""


def read_manifest(generated: Path = GENERATED_DIR) -> dict[str, Any]:
    """The manifest of ``generated`` (an empty one if there is none).

    Raises:
        ManifestError: it is not valid JSON, not a manifest, or of another format.
    """
    path = generated / MANIFEST_NAME
    fix = (f"restore it with `git checkout -- {path.relative_to(REPO_ROOT)}`"
           if path.is_relative_to(REPO_ROOT) else "restore it")  # fmt: skip
    fix += ", or re-render everything with `nox -s render -- --force`"
    try:
        manifest = read_json(path, {"format": MANIFEST_FORMAT, "examples": {}})
    except ValueError as error:
        raise ManifestError(f"{error.__cause__ or error}: {path} is damaged; {fix}") from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("examples"), dict):
        raise ManifestError(f"{path} is not a manifest (no 'examples' table); {fix}")
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ManifestError(
            f"{path} has format {manifest.get('format')}, expected {MANIFEST_FORMAT}; {fix}"
        )
    return manifest


def write_manifest(manifest: dict[str, Any], generated: Path = GENERATED_DIR) -> None:
    manifest["examples"] = dict(sorted(manifest["examples"].items()))
    atomic_write(
        generated / MANIFEST_NAME,
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
    )


@dataclass(frozen=True)
class Problem:
    """One reason the assets are not fresh."""

    kind: str  # "stale", "missing" or "orphaned"
    name: str  # example id or file name
    reason: str

    def __str__(self) -> str:
        return f"{self.kind:8} {self.name}: {self.reason}"


def _why_stale(old: dict[str, Any], new: dict[str, Any]) -> str:
    reasons = []
    for part in ("code", "models", "profile", "device", "seed", "dtype", "versions"):
        before, after = old.get(part), new.get(part)
        if part == "versions" and after:
            # A library that is not installed here cannot be compared: only installed ones count.
            before = {k: v for k, v in (before or {}).items() if after.get(k) is not None}
            after = {k: v for k, v in after.items() if v is not None}
        if before != after:
            if part == "code":
                reasons.append("its code (or a helper it calls) changed")
            elif part == "models":
                old_ids = {m["role"]: m for m in before or []}
                changed = [m["role"] for m in after or [] if old_ids.get(m["role"]) != m]
                reasons.append(f"model changed: {', '.join(changed) or 'set of roles'}")
            else:
                reasons.append(f"{part} {before!r} -> {after!r}")
    return "; ".join(reasons)


def current_fragment(example: Example, entry: dict[str, Any], generated: Path) -> str:
    """The page fragment the renderer would write today for an example's stored outputs.

    Rebuilt from the files, without executing anything, so a change to the fragment format
    (captions, markup) refreshes fragments without re-running examples.
    """
    from snippets.render.outputs import Captured, fragment

    text_file = generated / f"{example.id}.txt"
    captured = Captured(
        text=text_file.read_text(encoding="utf-8") if text_file.exists() else "",
        png=b"" if (generated / f"{example.id}.png").exists() else None,
        html="" if (generated / f"{example.id}.html").exists() else None,
    )
    return fragment(example, captured, entry["key_parts"]["profile"], entry["device_name"])


def check(
    examples: list[Example], settings: RenderSettings | None, generated: Path = GENERATED_DIR
) -> tuple[list[Problem], list[Example], list[Example]]:
    """Compare the examples with the assets in ``generated``; execute nothing.

    Args:
        examples: from :func:`~snippets.render.codehash.discover_examples`.
        settings: profile and device to compare against; None takes, per example, the ones
            its assets were rendered with (a frozen checkout is fresh for its own profile).

    Returns:
        ``(problems, examples to execute, examples whose page fragment only needs rewriting)``.
    """
    manifest = read_manifest(generated)
    entries = manifest["examples"]
    problems: list[Problem] = []
    to_render: list[Example] = []
    to_refresh: list[Example] = []
    for example in examples:
        entry = entries.get(example.id)
        if entry is None:
            problems.append(Problem("missing", example.id, "never rendered"))
            to_render.append(example)
            continue
        effective = settings or RenderSettings(
            entry["key_parts"]["profile"],
            entry["key_parts"]["device"],
            entry["key_parts"]["seed"],
            entry["key_parts"].get("dtype", "float32"),
        )
        parts = key_parts(example, effective)
        reason = _why_stale(entry["key_parts"], parts)
        missing = [
            name
            for name, digest in entry["outputs"].items()
            if not (generated / name).exists() or sha256_file(generated / name) != digest
        ]
        if reason:
            problems.append(Problem("stale", example.id, reason))
            to_render.append(example)
        elif missing:
            problems.append(
                Problem(
                    "missing", example.id, f"asset missing or changed by hand: {', '.join(missing)}"
                )
            )
            to_render.append(example)
        else:
            fragment_file = generated / f"{example.id}.md"
            source = f"{example.path}:{example.line}"
            if fragment_file.read_text(encoding="utf-8") != current_fragment(
                example, entry, generated
            ):
                problems.append(
                    Problem("stale", example.id, "page fragment out of date (caption or markup)")
                )
                to_refresh.append(example)
            elif entry["source"] != source or entry["caption"] != example.caption:
                problems.append(Problem("stale", example.id, f"moved to {source}"))
                to_refresh.append(example)
    known = {e.id for e in examples}
    for example_id in sorted(set(entries) - known):
        problems.append(
            Problem("orphaned", example_id, "in the manifest but no such example in snippets/")
        )
    owned = {name for e in entries.values() for name in e["outputs"]}
    owned |= {MANIFEST_NAME, TIMINGS_NAME}
    if generated.exists():
        for path in sorted(generated.iterdir()):
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                reason = "unfinished write of an interrupted render (the next render deletes it)"
                problems.append(Problem("orphaned", path.name, reason))
            elif path.is_file() and path.name not in owned and not path.name.startswith("."):
                problems.append(Problem("orphaned", path.name, "file that no example produced"))
    return problems, to_render, to_refresh


def refresh_fragments(examples: list[Example], generated: Path = GENERATED_DIR) -> None:
    """Rewrite the page fragments of ``examples`` from their stored outputs (no execution)."""
    manifest = read_manifest(generated)
    for example in examples:
        entry = manifest["examples"][example.id]
        name = f"{example.id}.md"
        atomic_write(generated / name, current_fragment(example, entry, generated))
        entry["outputs"][name] = sha256_file(generated / name)
        entry["caption"] = example.caption
        entry["source"] = f"{example.path}:{example.line}"
    write_manifest(manifest, generated)
