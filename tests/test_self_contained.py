"""The repository stands on its own: no file points outside it, and every spec citation resolves in it.

Why: bookcheck once read its specification from a sibling directory, so a fresh clone skipped tests and its
docs named a file nobody else had. The facts now live in ``docs/spec.md``; these tests keep it that way:

- no tracked (or new, not ignored) file mentions the old sibling location, whether written relative to
  the repository or as the absolute path it used to have;
- every section (``§3.2``), ambiguity (``§10.2``) and decision (``§11 D8``) that code, rules and docs cite
  exists in ``docs/spec.md``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "docs" / "spec.md"

#: The sibling directory and the file that used to hold the spec, spelled in pieces so that this file
#: (and a plain grep for them) does not find itself.
_SIBLING = "sha" + "red"
_OLD_SPEC = "booking-server" + "-v3.md"
#: A mention of a path outside the repository: the sibling, relative or absolute, or the old spec's name.
OUTSIDE = re.compile(rf"(?:\.\./|/work/){_SIBLING}\b|{re.escape(_OLD_SPEC)}")

_SECTION_CITE = re.compile(r"§ ?(\d+(?:\.\d+)*)")
_DECISION_CITE = re.compile(r"§11,? D(\d+)")
_RULE_DECISION = re.compile(r"\bD(\d+)\b")


def repository_files(root: Path = REPO) -> list[Path]:
    """Files git tracks, plus new files it does not ignore (so work not yet committed is held to the rule).

    ``git ls-files`` never lists ``.git`` itself, and ``.gitignore`` keeps out ``.venv`` and build output.
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return sorted({root / name for name in listed.split("\0") if name and (root / name).is_file()})


def _text(path: Path) -> str:
    """The file as text; "" for a binary file, or one another engineer removed since git listed it."""
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError):  # a binary file carries no path a reader would follow
        return ""


def outside_references(path: Path) -> list[str]:
    """``path:line: text`` for every line of a text file that names a location outside the repository."""
    text = _text(path)
    return [
        f"{path}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE.search(line)
    ]


def spec_sections(text: str) -> set[str]:
    """Section numbers that head a part of docs/spec.md: "1", "1.2", "3.12.4", …"""
    return set(re.findall(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", text, flags=re.MULTILINE))


def spec_ambiguities(text: str) -> set[str]:
    """Numbers of the items of §10."""
    part = text[text.index("## 10. ") : text.index("## 11. ")]
    return set(re.findall(r"^(\d+)\. ", part, flags=re.MULTILINE))


def spec_decisions(text: str) -> set[str]:
    """Numbers of the rows of the §11 decision table."""
    return set(re.findall(r"^\| D(\d+) \|", text, flags=re.MULTILINE))


def unresolved_citations(cited_text: str, spec_text: str) -> list[str]:
    """The ``§…`` and ``§11 D…`` citations of ``cited_text`` that docs/spec.md does not contain."""
    sections, items, decisions = (
        spec_sections(spec_text),
        spec_ambiguities(spec_text),
        spec_decisions(spec_text),
    )
    missing = []
    for number in _SECTION_CITE.findall(cited_text):
        head, _, item = number.partition(".")
        known = item in items if head == "10" and item else number in sections
        if not known:
            missing.append(f"§{number}")
    missing += [f"§11 D{n}" for n in _DECISION_CITE.findall(cited_text) if n not in decisions]
    return missing


def test_no_file_points_outside_the_repository() -> None:
    files = repository_files()
    assert SPEC in files and Path(__file__).resolve() in files
    found = [hit for path in files for hit in outside_references(path)]
    assert found == [], "files naming a path outside the repository:\n" + "\n".join(found)


def test_the_scan_fires_on_a_planted_reference(tmp_path: Path) -> None:
    """Guard against a scan that cannot fail: the same function finds each planted form."""
    sibling = f"../{_SIBLING}/spec/notes.md"
    absolute = f"/work/{_SIBLING}/design/examples.md"
    planted = tmp_path / "planted.md"
    planted.write_text(f"ok line\nsee {sibling}\nand `{absolute}`\nor {_OLD_SPEC}\n", encoding="utf-8")
    hits = outside_references(planted)
    assert [h.split(":")[1] for h in hits] == ["2", "3", "4"]
    clean = tmp_path / "clean.md"
    clean.write_text("docs/spec.md and ../docs/spec.md and a shared_state variable\n", encoding="utf-8")
    assert outside_references(clean) == []


def test_the_file_list_includes_new_untracked_files(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("ignored/\n", encoding="utf-8")
    (tmp_path / "ignored").mkdir()
    (tmp_path / "ignored" / "x.md").write_text("x", encoding="utf-8")
    (tmp_path / "new.md").write_text("y", encoding="utf-8")
    assert [p.name for p in repository_files(tmp_path)] == [".gitignore", "new.md"]


def test_every_cited_section_and_decision_exists_in_the_spec() -> None:
    spec = SPEC.read_text(encoding="utf-8")
    missing = {
        f"{path.relative_to(REPO)}: {cite}"
        for path in repository_files()
        if path not in {SPEC, Path(__file__).resolve()}  # this file plants wrong citations on purpose
        and path.suffix in {".py", ".md", ".yaml", ".json", ".proto"}
        for cite in unresolved_citations(_text(path), spec)
    }
    assert sorted(missing) == []


def test_rule_catalogue_decisions_exist_in_the_spec() -> None:
    spec = SPEC.read_text(encoding="utf-8")
    rules = yaml.safe_load((REPO / "scenarios" / "rules.yaml").read_text(encoding="utf-8"))["rules"]
    cited = {n for rule in rules for n in _RULE_DECISION.findall(str(rule.get("spec", "")))}
    assert cited and cited <= spec_decisions(spec)


def test_spec_keeps_its_numbering() -> None:
    """§1–§11, the subsections rules cite, 27 ambiguities and decisions D1–D54, each exactly once."""
    spec = SPEC.read_text(encoding="utf-8")
    assert {str(n) for n in range(12)} <= spec_sections(spec)
    assert {"3.12", "3.13", "3.12.1", "3.12.9", "3.13.2", "7.4", "2.10"} <= spec_sections(spec)
    assert spec_ambiguities(spec) == {str(n) for n in range(1, 28)}
    rows = re.findall(r"^\| D(\d+) \|", spec, flags=re.MULTILINE)
    assert rows == [str(n) for n in range(1, 55)]


@pytest.mark.parametrize(
    ("cited", "missing"),
    [("see §3.2 and §11 D8", []), ("see §3.14", ["§3.14"]), ("§10.28", ["§10.28"]), ("§11 D55", ["§11 D55"])],
)
def test_citation_check_fires_on_a_planted_citation(cited: str, missing: list[str]) -> None:
    assert unresolved_citations(cited, SPEC.read_text(encoding="utf-8")) == missing
