"""docs/sop-rules.md, the table of every SOP rule, cannot rot (#17): each row cites tests that exist or says why the
rule is not encoded, every shipped process is in it, docs/processes.md links to it, and the tests the per-process docs
name exist."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from engine.config import PROJECT_ROOT, SHIPPED_PROCESSES

DOCS = PROJECT_ROOT / "docs"
TABLE = DOCS / "sop-rules.md"
TESTS = PROJECT_ROOT / "tests"
ROW = re.compile(r"^\| (\d+\.\d+) \|(.*)\|\s*$")
CITED = re.compile(r"`([A-Za-z0-9_]+\.py)::(test_[A-Za-z0-9_]+)`")
NOT_ENCODED = re.compile(r"not encoded: (.{20,})")
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def rows() -> list[tuple[str, list[str]]]:
    """Return (rule id, cells) of every rule row of the table."""
    found = []
    for line in TABLE.read_text("utf-8").splitlines():
        match = ROW.match(line)
        if match:
            found.append((match.group(1), [c.strip() for c in match.group(2).split(" | ")]))
    return found


def modules_by_name() -> dict[str, Path]:
    """Return the test modules by file name (names are unique across tests/)."""
    files: dict[str, Path] = {}
    for path in TESTS.rglob("*.py"):
        assert path.name not in files or path.name in ("__init__.py", "conftest.py"), path
        files[path.name] = path
    return files


def test_the_table_has_every_rule_once_with_its_columns() -> None:
    found = rows()
    assert len(found) >= 68  # issue #17 counted 68 checkable rules
    ids = [rule for rule, _ in found]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    for rule, cells in found:
        assert len(cells) == 5, (rule, cells)  # source | rule | encoded in | deadline | test / status
        assert all(cells[:3]), (rule, cells)


def test_the_counts_the_table_states_are_its_own() -> None:
    stated = re.search(r"(\d+) rules; (\d+) encoded and tested, (\d+) not encoded", TABLE.read_text("utf-8"))
    assert stated, "docs/sop-rules.md states no counts"
    found = rows()
    not_encoded = sum(1 for _, cells in found if not CITED.search(cells[-1]))
    assert tuple(int(n) for n in stated.groups()) == (len(found), len(found) - not_encoded, not_encoded)


def test_every_rule_cites_existing_tests_or_says_why_it_is_not_encoded() -> None:
    files = modules_by_name()
    missing = []
    for rule, cells in rows():
        status = cells[-1]
        cited = CITED.findall(status)
        assert cited or NOT_ENCODED.search(status), f"rule {rule}: no test and no reason: {status!r}"
        for file_name, test_name in cited:
            path = files.get(file_name)
            if path is None or not re.search(rf"^(async )?def {test_name}\(", path.read_text("utf-8"), re.M):
                missing.append(f"rule {rule}: {file_name}::{test_name}")
    assert not missing, "cited tests that do not exist:\n" + "\n".join(missing)


def test_every_shipped_process_is_in_the_table() -> None:
    text = TABLE.read_text("utf-8")
    keys = set()
    for path in SHIPPED_PROCESSES.glob("*.bpmn"):
        for process in etree.parse(str(path)).iter(f"{BPMN}process"):
            if process.get("isExecutable", "true") != "false":
                keys.add(process.get("id"))
    assert keys
    assert not sorted(k for k in keys if f"`{k}`" not in text), "processes missing from docs/sop-rules.md"


def test_the_tests_the_process_docs_name_exist() -> None:
    files = modules_by_name()
    functions = set()
    for path in files.values():
        functions.update(re.findall(r"^(?:async )?def (test_[A-Za-z0-9_]+)\(", path.read_text("utf-8"), re.M))
    missing = []
    for doc in [TABLE, DOCS / "kpis.md", *sorted((DOCS / "processes").glob("*.md"))]:
        for name, suffix in re.findall(r"\b(test_[A-Za-z0-9_]+)(\.py|…)?", doc.read_text("utf-8")):
            if suffix == ".py":
                found = f"{name}.py" in files
            elif suffix == "…":  # an abbreviated name: "test_registering_…"
                found = any(f.startswith(name) for f in functions)
            else:
                found = name in functions or f"{name}.py" in files
            if not found:
                missing.append(f"{doc.relative_to(DOCS)}: {name}{suffix}")
    assert not missing, "docs name tests that do not exist:\n" + "\n".join(missing)


def test_the_process_overview_links_the_table_and_the_table_links_existing_docs() -> None:
    assert "(sop-rules.md)" in (DOCS / "processes.md").read_text("utf-8")
    for link in re.findall(r"\]\(([^)#]+\.md)", TABLE.read_text("utf-8")):
        assert (DOCS / link).is_file(), link
