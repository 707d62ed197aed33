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
_CHAR_REF = re.compile(r"&#([0-9]{1,10}|[xX][0-9a-fA-F]{1,8});")


def _is_xml_char(code: int) -> bool:
    """The XML 1.0 Char production."""
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


# An "&" that starts no character reference and no XML-predefined entity.
_BARE_AMPERSAND = re.compile(r"&(?!#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|(?:amp|lt|gt|quot|apos);)")
# A "<" that cannot start markup (a tag, an end tag, a comment, CDATA or a PI).
_BARE_LESS_THAN = re.compile(r"<(?![A-Za-z_:/!?])")
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


# Every parser feedconv builds gets these flags, and nothing else sets them.
# ``collect_ids`` stays at its default on purpose: turning it off makes libxml2 load
# the external DTD subset, and with it external parameter entities.
_HARDENED: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def make_parser(*, recover: bool = False, encoding: str | None = None) -> etree.XMLParser:
    """The hardened lxml parser: the only way feedconv builds a whole-document parser."""
    parser = etree.XMLParser(encoding=encoding, recover=recover, **_HARDENED)
    parser.resolvers.add(_RefuseExternal())
    return parser


def make_pull_parser(*, tags: tuple[str, ...], base_url: str | None = None) -> etree.XMLPullParser:
    """The hardened parser for streaming: the same flags as :func:`make_parser`, fed
    chunk by chunk, reporting the end of the elements named in ``tags``."""
    parser = etree.XMLPullParser(events=("end",), tag=tags, base_url=base_url, **_HARDENED)
    parser.resolvers.add(_RefuseExternal())
    return parser


def needs_repair_pass(head: bytes) -> bool:
    """True when a document starting with ``head`` must be read whole, with the repair
    pass, rather than streamed: a DOCTYPE (entities), a single-byte encoding
    declaration (which may lie), a BOM-less UTF-16/32 guess, or space before the
    declaration."""
    if b"<!DOCTYPE" in head or b"\x00" in head[:4]:
        return True
    if _strip_leading_space(head) is not head:
        return True
    declared = _DECLARED_ENCODING.match(head)
    return declared is not None and _is_single_byte(declared.group(1).decode("ascii"))


def suspicious_chunk(chunk: bytes) -> bool:
    """True when a chunk of a streamed document shows what only the repair pass can
    fix (encoded surrogates, double-encoded UTF-8)."""
    if b"\xed" in chunk and _UTF8_SURROGATE.search(chunk):
        return True
    return b"\xc3" in chunk and any(m in chunk for m in _DOUBLE_ENCODED_MARKS)


def parse_xml(
    data: bytes, *, base_url: str | None = None, http_charset: str | None = None
) -> etree._Element:
    """Parse feed bytes into an element tree, repairing what real feeds get wrong.

    A strict parse comes first. When it fails, or when the bytes contradict their
    declared encoding, the text is decoded by RFC 3023 rules with fallbacks, repaired
    (HTML entities, bare ampersands, control characters, double-encoded UTF-8) and parsed
    again, in recovery mode as a last resort. One warning lists every repair.
    Raises InputError when nothing usable can be recovered.
    """
    if not data.strip():
        raise InputError("input is empty")
    repairs: list[str] = []
    stripped = _strip_leading_space(data)
    if stripped is not data:
        repairs.append("whitespace before the XML declaration removed")
    data = stripped
    first_error = ""
    suspect = _encoding_suspicion(data)
    if http_charset is None and not suspect:
        try:
            root = _parse(data, base_url)
        except etree.XMLSyntaxError as exc:
            first_error = _describe(exc)
        else:
            _report(repairs, root, "")
            return root

    text, decode_repairs = decode(data, http_charset)
    repairs.extend(decode_repairs)
    text, text_repairs = _repair_text(text)
    repairs.extend(text_repairs)
    payload = text.encode("utf-8")
    try:
        root = _parse(payload, base_url, encoding="utf-8")
    except etree.XMLSyntaxError as exc:
        recovered = _recover(payload, base_url, "utf-8")
        if recovered is None:
            raise InputError(f"not a readable feed: {first_error or _describe(exc)}") from None
        root = recovered
        repairs.append(f"recovered what could be parsed of ill-formed XML ({_describe(exc)})")
    _report(repairs, root, first_error)
    return root


def _report(repairs: list[str], root: etree._Element, first_error: str) -> None:
    if not repairs or not _is_feed_root(root):
        return
    detail = "; ".join(repairs)
    if first_error and first_error not in detail:
        detail += f" (first error: {first_error})"
    log.warning("feed was repaired: %s", detail)


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
    if declared_name and _is_single_byte(declared_name) and _is_utf8_with_non_ascii(data):
        candidates.insert(candidates.index(declared_name), "utf-8")
    candidates.append("utf-8")
    text: str | None = None
    used = None
    for name in candidates:
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            repairs.append(f"unknown encoding {name!r} ignored")
            if name == declared_name:
                declared_name = None
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
        # UTF-8 where it is valid, windows-1252 for the bytes where it is not: handles
        # both a whole windows-1252 file and stray windows-1252 bytes in a UTF-8 feed.
        text = data.decode("utf-8", errors=_MIXED_HANDLER)
        used = "utf-8 with windows-1252 bytes"
        repairs.append("bytes that are not UTF-8 read as windows-1252")
    elif declared_name and used and _codec(used) != _codec(declared_name):
        repairs.append(f"declared encoding {declared_name!r} is wrong, read as {used!r}")
    text, fixed = _fix_double_encoding(text)
    if fixed:
        repairs.append(f"{fixed} double-encoded UTF-8 sequence(s) decoded")
    text = _TEXT_DECLARATION.sub("", text, count=1)
    return text, repairs


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


_SINGLE_BYTE = frozenset(
    ["latin-1", "iso8859-1", "cp1252", "ascii", "iso8859-15", "cp1250", "iso8859-2"]
)


def _is_single_byte(name: str) -> bool:
    return _codec(name) in _SINGLE_BYTE


def _is_utf8_with_non_ascii(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# UTF-8 encodings of "Ã" + continuation and of "â€": the marks of UTF-8 text that was
# decoded as windows-1252/latin-1 and encoded to UTF-8 again.
_DOUBLE_ENCODED_MARKS = (b"\xc3\x83\xc2", b"\xc3\x83\xc6", b"\xc3\xa2\xe2\x82\xac", b"\xc3\x82\xc2")


_UTF8_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")


def _encoding_suspicion(data: bytes) -> bool:
    """True when the bytes must not be trusted to their declaration: a single-byte
    declaration over UTF-8 bytes, or the marks of double-encoded UTF-8."""
    declared = _DECLARED_ENCODING.match(data)
    if declared:
        name = declared.group(1).decode("ascii").lower()
        if _is_single_byte(name) and _is_utf8_with_non_ascii(data):
            return True
    if _UTF8_SURROGATE.search(data):
        return True  # libxml2 keeps encoded surrogates that no text access can decode
    return any(mark in data for mark in _DOUBLE_ENCODED_MARKS)


def _mixed_handler(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    chunk = error.object[error.start : error.end]
    return "".join(_cp1252_char(b) for b in chunk), error.end


def _cp1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return ""  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: undefined, dropped


_MIXED_HANDLER = "feedconv-windows-1252"
codecs.register_error(_MIXED_HANDLER, _mixed_handler)

_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_DOUBLE_ENCODED = re.compile("[\u00c2-\u00f4][\u0080-\u00bf" + re.escape(_CP1252_HIGH) + "]{1,3}")


def _fix_double_encoding(text: str) -> tuple[str, int]:
    """Undo UTF-8 that was decoded as windows-1252 and encoded again ("cafÃ©" → "café")."""
    count = 0

    def undo(match: re.Match[str]) -> str:
        nonlocal count
        chunk = match.group(0)
        try:
            raw = bytes(ord(ch) if ord(ch) < 256 else ch.encode("cp1252")[0] for ch in chunk)
            fixed = raw.decode("utf-8")
        except (UnicodeError, ValueError):
            return chunk
        if len(fixed) != 1:
            return chunk
        count += 1
        return fixed

    return _DOUBLE_ENCODED.sub(undo, text), count


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
    invalid = 0

    def char_ref(match: re.Match[str]) -> str:
        nonlocal invalid
        digits = match.group(1)
        try:
            code = int(digits[1:], 16) if digits[:1] in "xX" else int(digits)
        except ValueError:
            code = -1
        if _is_xml_char(code):
            return match.group(0)
        invalid += 1
        return ""

    cleaned = _CHAR_REF.sub(char_ref, cleaned)
    if invalid:
        repairs.append(f"{invalid} reference(s) to characters XML forbids removed")
    cleaned, bare = _BARE_AMPERSAND.subn("&amp;", cleaned)
    if bare:
        repairs.append(f"{bare} unescaped '&' escaped")
    cleaned, less = _BARE_LESS_THAN.subn("&lt;", cleaned)
    if less:
        repairs.append(f"{less} unescaped '<' escaped")
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
