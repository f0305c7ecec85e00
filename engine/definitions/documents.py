"""Read BPMN/DMN files safely: bounded size, no DTDs, no entities, no network."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from engine.errors import DefinitionError, Problem
from engine.runtime import SourceDocument

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/", "http://www.omg.org/spec/DMN/")
BPMN_NAMESPACE = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_blank_text=False, recover=False,
    )


def read_document(name: str, content: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceDocument:
    """Parse one file's bytes into a SourceDocument or raise DefinitionError naming the problem."""
    if len(content) > max_bytes:
        raise DefinitionError([Problem(name, None, None, f"file is {len(content):,} bytes; the limit is {max_bytes:,}")])
    head = content[:4096].lstrip()
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise DefinitionError([Problem(name, _line_of(content, b"<!"), None,
                                       "DTDs and entity declarations are not allowed in BPMN/DMN files")])
    if not head.startswith(b"<"):
        raise DefinitionError([Problem(name, 1, None, "not an XML document")])
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise DefinitionError([Problem(name, line, None, f"not well-formed XML: {exc.msg}")]) from exc
    namespace = etree.QName(root).namespace or ""
    if namespace == BPMN_NAMESPACE and etree.QName(root).localname == "definitions":
        kind = "bpmn"
    elif namespace.startswith(DMN_NAMESPACES) and etree.QName(root).localname == "definitions":
        kind = "dmn"
    else:
        raise DefinitionError([Problem(name, root.sourceline, root.get("id"),
                                       f"root element {{{namespace}}}{etree.QName(root).localname} is neither BPMN nor DMN definitions")])
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError([Problem(name, None, None, "file is not UTF-8 text")]) from exc
    return SourceDocument(filename=name, text=text, tree=root, kind=kind)


def read_paths(paths: list[Path], max_bytes: int = DEFAULT_MAX_BYTES) -> list[tuple[str, bytes]]:
    """Collect (name, bytes) for each file; a directory contributes its .bpmn and .dmn files."""
    files: list[tuple[str, bytes]] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.suffix.lower() in (".bpmn", ".dmn") and child.is_file():
                    files.append((child.name, _read_bounded(child, max_bytes)))
        elif path.is_file():
            files.append((path.name, _read_bounded(path, max_bytes)))
        else:
            raise DefinitionError([Problem(str(path), None, None, "no such file or directory")])
    return files


def _read_bounded(path: Path, max_bytes: int) -> bytes:
    size = path.stat().st_size
    if size > max_bytes:
        raise DefinitionError([Problem(path.name, None, None, f"file is {size:,} bytes; the limit is {max_bytes:,}")])
    return path.read_bytes()


def _line_of(content: bytes, needle: bytes) -> int:
    index = content.find(needle)
    return content.count(b"\n", 0, max(index, 0)) + 1
