"""terraform/ parsed for tests, and its expressions resolved for a sample project.

Parsed with python-hcl2 (https://github.com/amplify-education/python-hcl2), which keeps string
literals quoted and expressions as ``${...}``; :func:`_clean` strips the quotes. Needs neither
the terraform binary nor its providers.

:func:`resolve` evaluates the few expression forms that name identities and URLs (variables,
locals, service account e-mails, the project number, ``join``/``concat`` of lists) for
:data:`SAMPLE` values, so a test can compare what one side of a production call sends with what
the other side checks. Any other expression raises ``ValueError``: a new form needs a rule here.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"

#: A sample deployment: what ``var.*`` and the project's data sources resolve to.
SAMPLE = {
    "var.project_id": "sharecast-prod",
    "var.region": "europe-west1",
    "data.google_project.this.number": "123456789012",
}


def _unquote(text: str) -> str:
    """``"abc"`` (a literal or template, as python-hcl2 keeps it) => ``abc``; ``${expr}`` as is."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"')
    return text


def _clean(value: Any) -> Any:
    """python-hcl2 output without its bookkeeping keys and with string literals unquoted."""
    if isinstance(value, dict):
        return {
            _unquote(k): _clean(v)
            for k, v in value.items()
            if not (k.startswith("__") and k.endswith("__"))  # __is_block__, __comments__...
        }
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


@cache
def parsed() -> dict[str, dict[str, Any]]:
    """Every terraform/*.tf file, parsed and cleaned, by file stem."""
    result = {}
    for path in sorted(TF.glob("*.tf")):
        with path.open() as handle:
            result[path.stem] = _clean(hcl2.load(handle))
    return result


def blocks(kind: str) -> list[tuple[str, Any]]:
    """``(file, block)`` of every top-level block of ``kind`` in every file."""
    return [(name, block) for name, doc in parsed().items() for block in doc.get(kind, [])]


@cache
def local_values() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _, block in blocks("locals"):
        for key, value in block.items():
            assert key not in merged, f"local.{key} defined twice"
            merged[key] = value
    return merged


def resources(rtype: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for _, block in blocks("resource"):
        for kind, named in block.items():
            if kind == rtype:
                found.update(named)
    return found


def all_resources() -> dict[str, dict[str, Any]]:
    """Every resource body by address ``type.name``."""
    found: dict[str, dict[str, Any]] = {}
    for _, block in blocks("resource"):
        for kind, named in block.items():
            for name, body in named.items():
                found[f"{kind}.{name}"] = body
    return found


def variable_defaults() -> dict[str, Any]:
    """``var.NAME`` => its default (variables without one are absent)."""
    return {
        f"var.{name}": body["default"]
        for _, block in blocks("variable")
        for name, body in block.items()
        if "default" in body
    }


_REF = re.compile(r"\$\{([^${}]+)\}")
_SA_EMAIL = re.compile(r'^google_service_account\.workload\["([^"]+)"\]\.email$')
_JOIN_CONCAT = re.compile(r'^join\(",", concat\((local\.\w+), (var\.\w+)\)\)$')


def _reference(expr: str, each_key: str | None) -> Any:
    expr = expr.strip()
    if expr in SAMPLE:
        return SAMPLE[expr]
    if expr.startswith("var."):
        return variable_defaults()[expr]
    if expr.startswith("local."):
        return resolve(local_values()[expr.removeprefix("local.")], each_key=each_key)
    if expr == "each.key" and each_key is not None:
        return each_key
    email = _SA_EMAIL.match(expr.replace("each.key", f'"{each_key}"'))
    if email:
        # google_service_account.workload: account_id = "sharecast-${replace(each.key, "_", "-")}"
        account = email.group(1).replace("_", "-")
        return f"sharecast-{account}@{SAMPLE['var.project_id']}.iam.gserviceaccount.com"
    joined = _JOIN_CONCAT.match(expr)
    if joined:
        first, second = (_reference(joined.group(n), each_key) for n in (1, 2))
        return ",".join([*first, *second])
    raise ValueError(f"no rule to resolve ${{{expr}}}")


def resolve(value: Any, *, each_key: str | None = None) -> Any:
    """``value`` (a cleaned HCL value) with every ``${...}`` replaced for :data:`SAMPLE`;
    ``each_key`` is ``each.key`` inside a ``for_each`` resource."""
    if isinstance(value, list):
        return [resolve(v, each_key=each_key) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, each_key=each_key) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    whole = _REF.fullmatch(value)
    if whole:
        return _reference(whole.group(1), each_key)
    return _REF.sub(lambda m: str(_reference(m.group(1), each_key)), value)
