"""The one hardened XML parser factory, and the decoding/repair of ill-formed feeds.

Every XML byte that feedconv reads goes through :func:`parse_xml`. The parser never
resolves entities, never loads a DTD and never touches the network, so XXE and entity
expansion attacks have nothing to work with. A feed that is not well-formed is decoded
and repaired step by step (encoding fallback, HTML entities, control characters), then
parsed in recovery mode as a last resort; each repair is reported in one warning line.
"""

from __future__ import annotations

import codecs
import html.entities
import logging
import re

from lxml import etree

from feedconv.errors import InputError

log = logging.getLogger(__name__)

_XML_PREDEFINED = frozenset({"amp", "lt", "gt", "quot", "apos"})
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_TEXT_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_ENTITY_REF = re.compile(r"&([A-Za-z][A-Za-z0-9]{0,31});")
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class _RefuseExternal(etree.Resolver):
    """Defence in depth: any external DTD or entity load resolves to nothing."""

    def resolve(self, system_url, public_id, context):  # type: ignore[no-untyped-def, override]
        return self.resolve_string("", context)


def make_parser(*, recover: bool = False, encoding: str | None = None) -> etree.XMLParser:
    """The hardened lxml parser: the only way feedconv builds an XML parser.

    ``collect_ids`` stays at its default on purpose: turning it off makes libxml2 load
    the external DTD subset, and with it external parameter entities.
    """
    parser = etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )
    parser.resolvers.add(_RefuseExternal())
    return parser


def parse_xml(
    data: bytes, *, base_url: str | None = None, http_charset: str | None = None
) -> etree._Element:
    """Parse feed bytes into an element tree, repairing what real feeds get wrong.

    Raises InputError when nothing usable can be recovered.
    """
    if not data.strip():
        raise InputError("input is empty")
    stripped = _strip_leading_space(data)
    leading = ["whitespace before the XML declaration removed"] if stripped is not data else []
    data = stripped
    if http_charset is None:
        try:
            root = _parse(data, base_url)
        except etree.XMLSyntaxError as exc:
            first_error = _describe(exc)
        else:
            if leading:
                log.warning("feed was repaired: %s", leading[0])
            return root
    else:
        first_error = ""

    text, repairs = decode(data, http_charset)
    repairs[:0] = leading
    text, entity_repairs = _repair_text(text)
    repairs.extend(entity_repairs)
    payload = text.encode("utf-8")
    try:
        root = _parse(payload, base_url, encoding="utf-8")
    except etree.XMLSyntaxError as exc:
        root = _recover(payload, base_url, "utf-8")
        if root is None:
            raise InputError(f"not a readable feed: {_describe(exc)}") from None
        repairs.append(f"recovered what could be parsed of ill-formed XML ({_describe(exc)})")
    if repairs and _is_feed_root(root):
        detail = "; ".join(repairs)
        if first_error and first_error not in detail:
            detail += f" (first error: {first_error})"
        log.warning("feed was repaired: %s", detail)
    return root


def _is_feed_root(root: etree._Element) -> bool:
    tag = root.tag if isinstance(root.tag, str) else ""
    return tag.rsplit("}", 1)[-1] in ("rss", "RDF", "feed", "channel")


def decode(data: bytes, http_charset: str | None = None) -> tuple[str, list[str]]:
    """Decode XML bytes to text: BOM, then HTTP charset, then the declaration, then
    UTF-8, then windows-1252. Returns the text (without XML declaration) and the list of
    repairs made."""
    repairs: list[str] = []
    candidates: list[str] = []
    for bom, name in _BOMS:
        if data.startswith(bom):
            data = data[len(bom) :]
            candidates.append(name)
            break
    if http_charset:
        candidates.append(http_charset)
    declared = _DECLARED_ENCODING.match(data)
    declared_name = declared.group(1).decode("ascii").lower() if declared else None
    if declared_name:
        candidates.append(declared_name)
    candidates += ["utf-8", "windows-1252"]
    text: str | None = None
    used = None
    for name in candidates:
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            repairs.append(f"unknown encoding {name!r} ignored")
            continue
        if codec.startswith(("utf-16", "utf-32")) and not _looks_wide(data):
            # A document cannot be UTF-16/32 without NUL bytes in its ASCII markup.
            continue
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        used = name
        break
    if text is None:
        text = data.decode("windows-1252", errors="replace")
        used = "windows-1252"
    if declared_name and used and codecs.lookup(used).name != codecs.lookup(declared_name).name:
        repairs.append(f"declared encoding {declared_name!r} is wrong, read as {used!r}")
    elif not declared_name and used not in (None, "utf-8") and not http_charset:
        repairs.append(f"undeclared encoding read as {used!r}")
    text = _TEXT_DECLARATION.sub("", text, count=1)
    return text, repairs


def _looks_wide(data: bytes) -> bool:
    return b"\x00" in data[:200]


def _repair_text(text: str) -> tuple[str, list[str]]:
    repairs: list[str] = []
    cleaned, n = _CONTROL_CHARS.subn("", text)
    if n:
        repairs.append(f"{n} control character(s) removed")
    count = 0

    def entity(match: re.Match[str]) -> str:
        nonlocal count
        name = match.group(1)
        if name in _XML_PREDEFINED:
            return match.group(0)
        codepoints = html.entities.html5.get(name + ";")
        if codepoints is None:
            return match.group(0)
        count += 1
        return "".join(f"&#{ord(c)};" for c in codepoints)

    cleaned = _ENTITY_REF.sub(entity, cleaned)
    if count:
        repairs.append(f"{count} HTML entity reference(s) decoded")
    return cleaned, repairs


def _strip_leading_space(data: bytes) -> bytes:
    """A newline before the XML declaration is a common, harmless defect."""
    stripped = data.lstrip(b" \t\r\n")
    if stripped is not data and _DECLARATION.match(stripped):
        return stripped
    return data


def _parse(data: bytes, base_url: str | None, encoding: str | None = None) -> etree._Element:
    root = etree.fromstring(data, make_parser(encoding=encoding), base_url=base_url)
    if root is None:
        raise etree.XMLSyntaxError("no root element", None, 0, 0)  # type: ignore[call-arg]
    _replace_entity_nodes(root)
    return root


def _replace_entity_nodes(root: etree._Element) -> None:
    """Entity references left unresolved (declared in a DTD that is never loaded, such
    as the Netscape RSS 0.91 DTD) become their HTML character, or nothing."""
    for node in list(root.iter(etree.Entity)):
        name = node.text[1:-1] if node.text else ""
        value = "" if name in _XML_PREDEFINED else html.entities.html5.get(name + ";", "")
        parent = node.getparent()
        if parent is None:
            continue
        previous = node.getprevious()
        addition = value + (node.tail or "")
        if previous is not None:
            previous.tail = (previous.tail or "") + addition
        else:
            parent.text = (parent.text or "") + addition
        parent.remove(node)


def _recover(data: bytes, base_url: str | None, encoding: str) -> etree._Element | None:
    parser = make_parser(recover=True, encoding=encoding)
    try:
        root = etree.fromstring(data, parser, base_url=base_url)
    except etree.XMLSyntaxError:
        return None
    if root is not None:
        _replace_entity_nodes(root)
    return root


def _describe(exc: Exception) -> str:
    return " ".join(str(exc).split()) or exc.__class__.__name__
