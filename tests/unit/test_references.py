"""The repository stands on its own: no reference leaves it.

Every text file of the repository (code, docs, terraform, configuration) is read. It may cite
``docs/<page>.md#<anchor>`` or a public URL, but nothing a clone does not have: the product
notes outside the repository, paths of the machine it was written on, or a ``docs/`` page or
anchor that does not exist. Anchors are GitHub's: a heading's slug, or an explicit
``<a id="...">``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", ".tfvenv", ".stack", "__pycache__", ".mypy_cache", ".ruff_cache"}
SKIP_DIRS |= {".pytest_cache", ".hypothesis", "node_modules", ".build", ".terraform"}
TEXT_SUFFIXES = {".py", ".md", ".tf", ".tfvars", ".toml", ".txt", ".yaml", ".yml", ".json"}
TEXT_SUFFIXES |= {".cfg", ".ini", ".sh", ".lock", ".html", ".js", ".css"}
TEXT_NAMES = {"Makefile", "Procfile", "run", "LICENSE", ".gitignore"}

# Built from parts so this file does not match itself.
SECTION_SIGN = "\u00a7"
LEAVING = {
    "a link to the product notes outside the repository": re.escape("../" + "shared"),
    "a citation of the product specification": re.escape("SPEC " + SECTION_SIGN),
    "a path to the specification": re.escape("shared/" + "SPEC"),
    "a path to the research notes": re.escape("shared/" + "reference"),
    "a citation of the research notes": re.escape("platform-" + "apis"),
    "an absolute path of a workstation": r"(?<![\w.:/-])/" + "work/",
}

DOCS_LINK = re.compile(r"(?<![\w/.-])docs/([\w-]+\.md)(?:#([\w-]+))?")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


def repository_files() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*")):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIP_DIRS for part in parts) or not path.is_file():
            continue
        if path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES:
            found.append(path)
    return found


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading (lower case, punctuation dropped, spaces to -)."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    text = page.read_text()
    found = {slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)}
    found |= set(re.findall(r"<a id=\"([^\"]+)\"", text))
    return frozenset(found)


def test_the_repository_has_its_docs_licence_and_contributing_guide():
    for name in ("LICENSE", "CONTRIBUTING.md", "docs/README.md", "docs/problems.md"):
        assert (ROOT / name).is_file(), name
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert "Version 2.0" in (ROOT / "LICENSE").read_text()


@pytest.mark.parametrize("what", sorted(LEAVING))
def test_no_reference_leaves_the_repository(what):
    pattern = re.compile(LEAVING[what])
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:90]}"
        for path in repository_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, f"{what}:\n" + "\n".join(offenders)


def test_every_docs_link_names_a_page_and_anchor_that_exist():
    broken = []
    for path in repository_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for page, anchor in DOCS_LINK.findall(line):
                target = ROOT / "docs" / page
                where = f"{path.relative_to(ROOT)}:{number}: docs/{page}#{anchor}"
                if not target.is_file():
                    broken.append(f"{where} (no page)")
                elif anchor and anchor not in anchors(target):
                    broken.append(f"{where} (no anchor)")
    assert not broken, "\n".join(broken)


def test_relative_markdown_links_resolve():
    broken = []
    for path in repository_files():
        if path.suffix != ".md":
            continue
        for link in MD_LINK.findall(path.read_text()):
            if re.match(r"^[a-z]+:", link):
                continue
            file_part, _, anchor = link.partition("#")
            target = (path.parent / file_part).resolve() if file_part else path
            if not target.exists():
                broken.append(f"{path.relative_to(ROOT)}: {link} (no file)")
            elif anchor and target.suffix == ".md" and anchor not in anchors(target):
                broken.append(f"{path.relative_to(ROOT)}: {link} (no anchor)")
    assert not broken, "\n".join(broken)


def test_every_problem_code_has_its_entry():
    """Problem ``type`` URIs end with the code in kebab case: each is an anchor of
    docs/problems.md, for the API's codes and the codes connectors record on targets."""
    from sharecast import errors
    from sharecast.oauth import errors as oauth_errors
    from sharecast.webhooks import errors as webhook_errors

    codes = {
        cls.code
        for module in (errors, oauth_errors, webhook_errors)
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, errors.SharecastError)
    }
    source = "\n".join(p.read_text() for p in (ROOT / "functions" / "sharecast").rglob("*.py"))
    codes |= set(
        re.findall(
            r"(?:PlatformError|AuthExpiredError|DuplicateContentError)\(\s*\"([A-Z0-9_]+)\"", source
        )
    )
    codes |= {"NEEDS_REAUTH", "MISSED", "TIMEOUT", "UNCERTAIN"}
    assert len(codes) > 40
    documented = anchors(ROOT / "docs" / "problems.md")
    missing = sorted(c for c in codes if c.lower().replace("_", "-") not in documented)
    assert not missing, f"add to docs/problems.md: {missing}"
