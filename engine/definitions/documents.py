"""Read BPMN/DMN files safely: bounded size, no DTDs, no entities, no network."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from lxml import etree

from engine.definitions.messages import plain_problem
from engine.errors import DefinitionError
from engine.runtime import SourceDocument

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/", "http://www.omg.org/spec/DMN/")
BPMN_NAMESPACE = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_blank_text=False, recover=False,
    )


def decode(content: bytes) -> str:
    """Return the file's text: UTF-8 or UTF-16 (with or without a byte-order mark) or the declared encoding."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if content.startswith(bom):
            return content[len(bom):].decode(encoding)
    if content[:2] == b"<\x00":
        return content.decode("utf-16-le")
    if content[:2] == b"\x00<":
        return content.decode("utf-16-be")
    declared = _DECLARED.match(content)
    encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
    return content.decode(encoding if encoding not in ("utf-16", "utf16") else "utf-8")


def read_document(name: str, content: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceDocument:
    """Parse one file's bytes into a SourceDocument or raise DefinitionError naming the problem.

    The text is kept as UTF-8 with its XML declaration saying so, whatever encoding the modeler wrote.
    """
    if len(content) > max_bytes:
        raise DefinitionError([plain_problem(name, None, "file_too_big", size=f"{len(content):,}", limit=f"{max_bytes:,}")])
    try:
        text = decode(content)
    except (UnicodeDecodeError, LookupError) as exc:
        declared = _DECLARED.match(content)
        encoding = declared.group(1).decode("ascii", "replace") if declared else "UTF-8"
        raise DefinitionError([plain_problem(name, None, "bad_encoding", encoding=encoding)]) from exc
    text = _DECLARATION.sub(_utf8_declaration, text, count=1)
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise DefinitionError([plain_problem(name, text.count("\n", 0, text.find("<!")) + 1, "dtd")])
    if not text[:4096].lstrip().startswith("<"):
        raise DefinitionError([plain_problem(name, 1, "not_xml")])
    try:
        root = etree.fromstring(text.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        raise DefinitionError([plain_problem(name, line, "not_well_formed", detail=str(exc.msg).rstrip("."))]) from exc
    namespace = etree.QName(root).namespace or ""
    if namespace == BPMN_NAMESPACE and etree.QName(root).localname == "definitions":
        kind = "bpmn"
    elif namespace.startswith(DMN_NAMESPACES) and etree.QName(root).localname == "definitions":
        kind = "dmn"
    else:
        raise DefinitionError([plain_problem(name, root.sourceline, "wrong_root", root=etree.QName(root).localname)])
    return SourceDocument(filename=name, text=text, tree=root, kind=kind)


_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def _utf8_declaration(match: re.Match[str]) -> str:
    return re.sub(r"encoding\s*=\s*[\"'][^\"']*[\"']", 'encoding="UTF-8"', match.group(0))


def read_paths(paths: list[Path], max_bytes: int = DEFAULT_MAX_BYTES) -> list[tuple[str, bytes]]:
    """Collect (name, bytes) for each path: a bundle's files.

    A folder contributes its BPMN/DMN files, catalogues and forms (beside them or in a ``forms/`` subfolder; other
    files are left alone); a ``.zip`` its entries (unpacked safely, engine.definitions.archives); a BPMN file given
    alone brings the translation catalogue beside it. A file given by name is kept whatever it is (the deploy refuses
    what no bundle holds). The same file name twice is refused.
    """
    from engine.definitions.archives import is_zip_name, read_zip
    from engine.definitions.bundle_files import file_kind, is_form_file

    files: list[tuple[str, bytes]] = []
    origin: dict[str, str] = {}
    problems = []

    def add(name: str, content: bytes, where: str) -> None:
        if name in origin:
            if origin[name] != where:
                problems.append(plain_problem(where, None, "duplicate_file", other=origin[name]))
            return
        origin[name] = where
        files.append((name, content))

    for path in paths:
        if path.is_dir():
            children = [c for c in sorted(path.iterdir()) if c.is_file() and file_kind(c.name) is not None]
            forms = path / "forms"
            if forms.is_dir():
                children += [c for c in sorted(forms.iterdir()) if c.is_file() and is_form_file(c.name)]
            for child in children:
                add(child.name, _read_bounded(child, max_bytes), str(child))
        elif path.is_file() and is_zip_name(path.name):
            for name, content in read_zip(path.name, _read_bounded(path, 8 * max_bytes), max_bytes):
                add(name, content, f"{path}!{name}")
        elif path.is_file():
            add(path.name, _read_bounded(path, max_bytes), str(path))
            beside = path.with_name(path.name.rsplit(".", 1)[0] + ".i18n.json")
            if path.suffix.lower() == ".bpmn" and beside.is_file() and beside not in paths:
                add(beside.name, _read_bounded(beside, max_bytes), str(beside))
        else:
            raise DefinitionError([plain_problem(str(path), None, "no_such_file")])
    if problems:
        raise DefinitionError(problems)
    return files


def _read_bounded(path: Path, max_bytes: int) -> bytes:
    size = path.stat().st_size
    if size > max_bytes:
        raise DefinitionError([plain_problem(path.name, None, "file_too_big", size=f"{size:,}", limit=f"{max_bytes:,}")])
    return path.read_bytes()
