"""Locked, hashed dependencies: the deploy source installs the lock, and ``make`` installs the
dev lock with hash checking.

- ``functions/requirements.txt`` (what Cloud Functions' Python buildpack and the relay image
  install from ``functions/``) is the lock of ``requirements.txt``: every direct and indirect
  dependency pinned with ``==`` and its sha256 hashes, so pip runs in hash-checking mode
  (https://pip.pypa.io/en/stable/topics/secure-installs/#hash-checking-mode);
- ``requirements-dev.lock`` locks ``requirements-dev.txt`` with the runtime pins as constraints;
- both are written by ``make lock`` (``uv pip compile --generate-hashes``); a requirement edited
  without re-locking fails here.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "functions" / "requirements.txt"
DEV_LOCK = ROOT / "requirements-dev.lock"

_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s\\]+)")


def locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """``{canonical name: (version, [sha256 hashes])}`` of a lock file."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        match = _ENTRY.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            entries[current] = (match.group(3), [])
        elif stripped.startswith("--hash=sha256:") and current is not None:
            entries[current][1].append(stripped.removeprefix("--hash=sha256:").rstrip(" \\"))
        elif stripped and not stripped.startswith("#"):
            pytest.fail(f"{path.name}: unexpected line {line!r} (only pins and hashes)")
    return entries


def direct(path: Path) -> dict[str, str]:
    """Direct requirements of a requirements file (``-r`` included): ``{name: version}``."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found.update(direct(path.parent / line[3:].strip()))
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{path.name}: pin {line} with =="
        found[canonicalize_name(req.name)] = spec.version
    return found


@pytest.mark.parametrize("path", [LOCK, DEV_LOCK], ids=["runtime", "dev"])
def test_every_locked_package_is_pinned_with_hashes(path):
    entries = locked(path)
    assert len(entries) > 30
    for name, (version, hashes) in entries.items():
        assert hashes, f"{path.name}: {name}=={version} has no hash"
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name
    assert "make lock" in path.read_text().splitlines()[1], "written by `make lock`"


@pytest.mark.parametrize(
    ("requirements", "lock"),
    [("requirements.txt", LOCK), ("requirements-dev.txt", DEV_LOCK)],
    ids=["runtime", "dev"],
)
def test_the_lock_holds_every_direct_requirement_at_its_pin(requirements, lock):
    entries = locked(lock)
    for name, version in direct(ROOT / requirements).items():
        assert name in entries, f"{name} is not in {lock.name}: run `make lock`"
        assert entries[name][0] == version, f"{name}: {lock.name} has another version"


def test_indirect_dependencies_are_pinned_in_the_deploy_source():
    entries = locked(LOCK)
    for name in ("grpcio", "protobuf", "werkzeug", "gunicorn", "googleapis-common-protos"):
        assert name in entries, name
    assert set(entries) > set(direct(ROOT / "requirements.txt"))


def test_dev_lock_agrees_with_the_runtime_lock():
    runtime, dev = locked(LOCK), locked(DEV_LOCK)
    for name, (version, _) in runtime.items():
        assert dev.get(name, ("missing",))[0] == version, name


def test_this_environment_is_the_dev_lock():
    """``make`` installed exactly the dev lock (the tests run in that environment)."""
    for name, (version, _) in locked(DEV_LOCK).items():
        if name == "pip":
            continue
        assert metadata.version(name) == version, f"{name}: run make (the venv is stale)"


def test_make_installs_the_locks_with_hash_checking():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r $(DEV_LOCK)" in makefile
    assert "$(STAMP): $(LOCK) $(DEV_LOCK)" in makefile
    assert "LOCK := functions/requirements.txt" in makefile
    assert "DEV_LOCK := requirements-dev.lock" in makefile


def test_the_deploy_source_ships_the_lock():
    """The function archive (terraform/functions.tf) and the relay build (cloudbuild.yaml) take
    functions/ as it is, requirements.txt included."""
    functions_tf = (ROOT / "terraform" / "functions.tf").read_text()
    assert 'source_dir       = "${path.module}/../functions"' in functions_tf
    excludes = functions_tf.split("excludes = [", 1)[1].split("]", 1)[0]
    assert "requirements" not in excludes
    assert "gcloud builds submit functions" in (ROOT / "Makefile").read_text()
