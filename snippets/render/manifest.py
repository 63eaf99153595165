"""Cache keys, the manifest of rendered assets, and the freshness check.

Nothing here imports torch or transformers: ``--check`` and a frozen ``nox -s docs`` use it on a
machine that only has the documentation tools.

Layout of ``docs/generated/``::

    manifest.json        one entry per example: key, its parts, provenance, output checksums
    timings.json         duration of each example's last execution (the build report's table)
    <id>.txt / .png / .html / .json   the raw outputs (.json: data an example returned)
    <id>.md              the fragment a page includes: output block plus caption
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import MISSING, asdict, dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import Any

from snippets.codehash import function_hash, pinned_sources
from snippets.offline import folder_key, folder_kind, key_digest
from snippets.profiles import role
from snippets.render.examples import Example
from snippets.render.lock import active_lock, public_version, read_lock

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATED_DIR = REPO_ROOT / "docs" / "generated"
MANIFEST_NAME = "manifest.json"
TIMINGS_NAME = "timings.json"
MANIFEST_FORMAT = 3
DEFAULT_SEED = 1234
# Libraries that shape an output. An example that uses a model depends on the first three; the
# others count for the examples whose code imports them (figures, bertviz views, arrays).
MODEL_LIBRARIES = ("torch", "transformers", "tokenizers")
KEY_LIBRARIES = (*MODEL_LIBRARIES, "matplotlib", "bertviz", "numpy")


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


# What :func:`atomic_write` leaves when its process is killed between writing and renaming.
LEFTOVER_PATTERN = ".*.tmp"


def leftovers(folder: Path) -> list[Path]:
    """The unfinished writes (``.<name>.<random>.tmp``) that a killed render left in ``folder``."""
    return sorted(folder.glob(LEFTOVER_PATTERN))


def remove_leftovers(folder: Path) -> list[str]:
    """Delete :func:`leftovers` of ``folder``; returns their names. Call it holding the render
    lock (:mod:`snippets.render.render_lock`): another render's files are not leftovers while it
    runs."""
    removed = []
    for leftover in leftovers(folder):
        leftover.unlink(missing_ok=True)
        removed.append(leftover.name)
    return removed


def owned_files(entries: dict) -> set[str]:
    """The file names of an outputs folder that its manifest accounts for: every entry's
    outputs, the manifest itself and the timings."""
    return {name for entry in entries.values() for name in entry.outputs} | {
        MANIFEST_NAME,
        TIMINGS_NAME,
    }


def sha256_file(path: Path) -> str:
    """The sha256 of the file ``path``, hex, read in chunks (a 98 MB model file too)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def library_versions(names: tuple[str, ...] = KEY_LIBRARIES) -> dict[str, str | None]:
    """Installed versions of ``names``, build labels kept (``2.13.0+cpu``; None: not
    installed); nothing is imported. What produced an output: its provenance."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def locked_versions(names: tuple[str, ...] = KEY_LIBRARIES) -> dict[str, str | None]:
    """The versions of ``names`` in the active lock (:func:`~snippets.render.lock.active_lock`),
    without build labels: what decides freshness. torch's ``+cpu`` or ``+cu128`` names a build of
    the same release, so a GPU runner's outputs stay fresh for CPU CI (None: not locked).

    Raises:
        LockError: the lock file does not exist.
    """
    pins = read_lock(active_lock())
    return {name: public_version(pins[name]) if name in pins else None for name in names}


def key_libraries(example: Example) -> tuple[str, ...]:
    """The libraries whose versions go into ``example``'s key."""
    used = set(example.libraries) | (set(MODEL_LIBRARIES) if example.roles else set())
    return tuple(name for name in KEY_LIBRARIES if name in used)


def model_identity(profile: str, role_name: str, device: str) -> dict[str, str]:
    """What identifies the checkpoint of a role under ``profile``, for keys and provenance.

    Hub: the model id and its pinned commit. Offline: the local folder's kind and the hash of
    the code that makes it (plus device class and training seed for a trained stand-in; the
    library versions are compared apart, in the key's ``versions``). ``loader`` hashes the
    lecture's loading code of the role.
    """
    entry = role(role_name)
    loader = function_hash(entry.loader.__module__, entry.loader.__name__)[:12]
    if entry.uses_hub(profile):
        return {"role": role_name, "name": entry.hub_id, "revision": entry.hub_revision,
                "stand_in": "no", "loader": loader}  # fmt: skip
    digest = key_digest(folder_key(entry.make, entry.trained, device, with_versions=False))
    return {
        "role": role_name,
        "name": f"local folder {folder_kind(entry.make)}",
        "revision": f"{entry.make.__module__}:{entry.make.__name__}@{digest}",
        "stand_in": "yes" if entry.is_stand_in(profile) else "no",
        "loader": loader,
    }


@dataclass(frozen=True)
class RenderSettings:
    """What, besides code and models, decides an example's output."""

    profile: str
    device: str  # device class: cpu, cuda or mps
    seed: int = DEFAULT_SEED
    dtype: str = "float32"


def key_parts(
    example: Example, settings: RenderSettings, versions: dict[str, str | None] | None = None
) -> dict[str, Any]:
    """The parts of an example's cache key (each compared by ``--check`` to say why).

    Args:
        versions: the locked library versions (:func:`locked_versions`), read once per run
            (default: now).
    """
    versions = locked_versions() if versions is None else versions
    return {
        "code": example.code_hash,
        "models": [model_identity(settings.profile, r, settings.device) for r in example.roles],
        "profile": settings.profile,
        "device": settings.device,
        "seed": settings.seed,
        "dtype": settings.dtype,
        "versions": {name: versions.get(name) for name in key_libraries(example)},
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


def described(models: list[dict[str, str]], profile: str) -> list[dict[str, str]]:
    """``models`` (an entry's or its key's) with each role's caption under ``profile`` as its
    ``description``: what the build report and the hub check show."""
    return [{**model, "description": role(model["role"]).caption(profile)} for model in models]


@dataclass
class Entry:
    """The manifest's record of one rendered example.

    Attributes:
        id: the example id.
        source: ``path:line`` of its ``def``.
        function: its function name.
        caption: the caption it was rendered with.
        key: sha256 of ``key_parts``.
        key_parts: code hash, models, profile, device, seed, dtype, locked library
            versions (without build labels): what decides freshness.
        models: ``key_parts["models"]`` with each role's caption (``description``).
        device_name: the device, in words (``cpu (x86_64)``).
        outputs: ``{file name: sha256}`` of every file it wrote.
        provenance: what produced the outputs, exactly: ``versions`` (the installed versions
            of the key's libraries, build labels kept: ``torch 2.13.0+cu128``) and ``python``.
            Shown under each output and in the build report; never compared.
        warnings: what the example warned (all declared in ``docs/expected-warnings.toml``),
            in order: the drift report says which appeared or vanished.
        point: the point the example declared when it was rendered
            (``docs/model-choices.toml``); an output keeps its id only while its point stays
            the same ("" in an entry written before points were recorded).
    """

    id: str
    source: str
    function: str
    caption: str
    key: str
    key_parts: dict[str, Any]
    models: list[dict[str, str]]
    device_name: str
    outputs: dict[str, str]
    provenance: dict[str, Any]
    warnings: list[str]
    point: str = ""

    @property
    def profile(self) -> str:
        return self.key_parts["profile"]

    @property
    def settings(self) -> RenderSettings:
        parts = self.key_parts
        return RenderSettings(parts["profile"], parts["device"], parts["seed"], parts["dtype"])

    @classmethod
    def create(
        cls,
        example: Example,
        parts: dict[str, Any],
        device_name: str,
        outputs: dict[str, str],
        provenance: dict[str, Any],
        warnings: list[str] | None = None,
    ) -> Entry:
        """The entry of ``example`` rendered with key ``parts``."""
        models = described(parts["models"], parts["profile"])
        source = f"{example.path}:{example.line}"
        warned = list(warnings or [])
        return cls(example.id, source, example.function, example.caption, cache_key(parts),
                   parts, models, device_name, outputs, provenance, warned,
                   example.point)  # fmt: skip

    @classmethod
    def from_json(cls, data: Any, where: str) -> Entry:
        """Read one entry; ``where`` names it in errors.

        Raises:
            ValueError: a field is missing.
        """
        names = [f.name for f in fields(cls)]
        required = [f.name for f in fields(cls) if f.default is MISSING]
        if not isinstance(data, dict) or set(required) - set(data):
            missing = sorted(set(required) - set(data)) if isinstance(data, dict) else required
            raise ValueError(f"{where}: not a manifest entry (missing {', '.join(missing)})")
        return cls(**{name: data[name] for name in names if name in data})


class ManifestError(ValueError):
    """The manifest cannot be read; the message names the file and what to do."""


@dataclass
class Manifest:
    """``docs/generated/manifest.json``: one :class:`Entry` per rendered example.

    The one owner of the file: the render loop records entries through it, ``--check``, the
    build report and the tests read it through it.
    """

    entries: dict[str, Entry]
    folder: Path = GENERATED_DIR

    @classmethod
    def read(cls, folder: Path = GENERATED_DIR) -> Manifest:
        """The manifest of ``folder`` (an empty one if there is none).

        Raises:
            ManifestError: it is not valid JSON, not a manifest, of another format, or an
                entry is damaged.
        """
        path = folder / MANIFEST_NAME
        fix = (f"restore it with `git checkout -- {path.relative_to(REPO_ROOT)}`"
               if path.is_relative_to(REPO_ROOT) else "restore it")  # fmt: skip
        fix += ", or re-render everything with `nox -s render -- --force`"
        try:
            data = read_json(path, {"format": MANIFEST_FORMAT, "examples": {}})
        except ValueError as error:
            raise ManifestError(f"{error.__cause__ or error}: {path} is damaged; {fix}") from error
        if not isinstance(data, dict) or not isinstance(data.get("examples"), dict):
            raise ManifestError(f"{path} is not a manifest (no 'examples' table); {fix}")
        if data.get("format") != MANIFEST_FORMAT:
            raise ManifestError(
                f"{path} has format {data.get('format')}, expected {MANIFEST_FORMAT}; {fix}"
            )
        try:
            entries = {
                key: Entry.from_json(value, f"{path} [{key}]")
                for key, value in data["examples"].items()
            }
        except ValueError as error:
            raise ManifestError(f"{error}; {fix}") from error
        return cls(entries, folder)

    def write(self) -> None:
        data = {
            "format": MANIFEST_FORMAT,
            "examples": {key: asdict(self.entries[key]) for key in sorted(self.entries)},
        }
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        atomic_write(self.folder / MANIFEST_NAME, text)

    def record(self, entry: Entry) -> None:
        """Store ``entry`` (replacing the example's old one) and write the file; output files
        of the old entry that the new one did not write are deleted."""
        old = self.entries.get(entry.id)
        for stale in set(old.outputs if old else ()) - set(entry.outputs):
            (self.folder / stale).unlink(missing_ok=True)
        self.entries[entry.id] = entry
        self.write()

    def remove(self, example_id: str) -> None:
        """Forget an example and delete its output files (the file is written by the caller)."""
        for name in self.entries.pop(example_id).outputs:
            (self.folder / name).unlink(missing_ok=True)


# What --check says of a temporary file that a killed render left (atomic_write's).
LEFTOVER_REASON = "unfinished write of an interrupted render (the next render deletes it)"


@dataclass(frozen=True)
class Problem:
    """One reason the assets are not fresh."""

    kind: str  # "stale", "missing", "orphaned" or "point" (its point changed: rename it)
    name: str  # example id or file name
    reason: str

    def __str__(self) -> str:
        return f"{self.kind:8} {self.name}: {self.reason}"


def _why_stale(old: dict[str, Any], new: dict[str, Any]) -> str:
    reasons = []
    for part in ("code", "models", "profile", "device", "seed", "dtype", "versions"):
        before, after = old.get(part), new.get(part)
        if before != after:
            if part == "code":
                reasons.append("its code (or a helper it calls) changed")
            elif part == "versions":
                moved = [f"{name} {(before or {}).get(name)} -> {version}"
                         for name, version in after.items()
                         if (before or {}).get(name) != version]  # fmt: skip
                reasons.append(f"locked versions moved: {', '.join(moved) or 'set of libraries'}")
            elif part == "models":
                old_ids = {m["role"]: m for m in before or []}
                changed = [m["role"] for m in after or [] if old_ids.get(m["role"]) != m]
                reasons.append(f"model changed: {', '.join(changed) or 'set of roles'}")
            else:
                reasons.append(f"{part} {before!r} -> {after!r}")
    return "; ".join(reasons)


def current_fragment(example: Example, entry: Entry, generated: Path) -> str:
    """The page fragment the renderer would write today for an example's stored outputs.

    Rebuilt from the files, without executing anything, so a change to the fragment format
    (captions, alt text, markup) refreshes fragments without re-running examples.
    """
    from snippets.render.outputs import Captured, fragment

    text_file = generated / f"{example.id}.txt"
    data_file = generated / f"{example.id}.json"
    captured = Captured(
        text=text_file.read_text(encoding="utf-8") if text_file.exists() else "",
        png=b"" if (generated / f"{example.id}.png").exists() else None,
        html="" if (generated / f"{example.id}.html").exists() else None,
        data=read_json(data_file, None),
    )
    return fragment(example, captured, entry.profile, entry.device_name, entry.provenance)


def check(
    examples: list[Example], settings: RenderSettings | None, generated: Path = GENERATED_DIR
) -> tuple[list[Problem], list[Example], list[Example]]:
    """Compare the examples with the assets in ``generated``; execute nothing.

    Args:
        examples: from :func:`~snippets.render.examples.discover_examples`.
        settings: profile and device to compare against; None takes, per example, the ones
            its assets were rendered with (a frozen checkout is fresh for its own profile).

    Returns:
        ``(problems, examples to execute, examples whose page fragment only needs rewriting)``.
    """
    with pinned_sources():  # the lecture's files are read once, not once per example
        return _check(examples, settings, generated)


def _check(
    examples: list[Example], settings: RenderSettings | None, generated: Path
) -> tuple[list[Problem], list[Example], list[Example]]:
    entries = Manifest.read(generated).entries
    versions = locked_versions()  # once per run
    problems: list[Problem] = []
    to_render: list[Example] = []
    to_refresh: list[Example] = []
    present = {p.name for p in generated.iterdir()} if generated.exists() else set()
    for example in examples:
        entry = entries.get(example.id)
        if entry is None:
            problems.append(Problem("missing", example.id, "never rendered"))
            to_render.append(example)
            continue
        if entry.point and entry.point != example.point:
            problems.append(Problem("point", example.id, point_changed(entry.point, example)))
            to_render.append(example)
            continue
        parts = key_parts(example, settings or entry.settings, versions)
        reason = _why_stale(entry.key_parts, parts)
        missing = [
            name
            for name, digest in entry.outputs.items()
            if name not in present or sha256_file(generated / name) != digest
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
            elif entry.source != source or entry.caption != example.caption:
                problems.append(Problem("stale", example.id, f"moved to {source}"))
                to_refresh.append(example)
            elif entry.point != example.point:  # rendered before points were recorded
                problems.append(Problem("stale", example.id, "its point is not recorded yet"))
                to_refresh.append(example)
            elif entry.models != described(entry.models, entry.profile):
                problems.append(Problem("stale", example.id, "a model's description changed"))
                to_refresh.append(example)
    known = {e.id for e in examples}
    for example_id in sorted(set(entries) - known):
        problems.append(
            Problem("orphaned", example_id, "in the manifest but no such example in snippets/")
        )
    owned = owned_files(entries)
    unfinished = {path.name for path in leftovers(generated)}
    for name in sorted(present):
        if name in unfinished:
            problems.append(Problem("orphaned", name, LEFTOVER_REASON))
        elif name not in owned and not name.startswith(".") and (generated / name).is_file():
            problems.append(Problem("orphaned", name, "file that no example produced"))
    return problems, to_render, to_refresh


def point_changed(recorded: str, example: Example) -> str:
    """What ``--check`` and the render say of an example whose declared point is not the one
    its outputs were rendered for."""
    return (
        f"its point changed from {recorded!r} to {example.point!r} since it was rendered "
        "(docs/model-choices.toml): an output keeps its id only while its point stays the "
        f"same, so links to #output-{example.id} never silently show another point. Rename "
        f"{example.function} in {example.path} (and its entries), or, if only the declaration "
        f"was wrong, re-render it with `nox -s render -- --force --only {example.id}`"
    )


def provenance(example: Example, installed: dict[str, str | None]) -> dict[str, Any]:
    """What produced ``example``'s outputs: the installed versions (build labels kept) of the
    libraries in its key, and the Python version."""
    import platform

    return {
        "python": platform.python_version(),
        "versions": {name: installed.get(name) for name in key_libraries(example)},
    }


def refresh_fragments(examples: list[Example], generated: Path = GENERATED_DIR) -> None:
    """Rewrite the page fragments of ``examples`` from their stored outputs (no execution)."""
    manifest = Manifest.read(generated)
    for example in examples:
        entry = manifest.entries[example.id]
        name = f"{example.id}.md"
        atomic_write(generated / name, current_fragment(example, entry, generated))
        entry.outputs[name] = sha256_file(generated / name)
        entry.caption = example.caption
        entry.source = f"{example.path}:{example.line}"
        entry.point = entry.point or example.point  # recorded once; a change is a new id
        entry.models = described(entry.models, entry.profile)
    manifest.write()
