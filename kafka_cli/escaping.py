"""Message data shown safely: the characters that must never reach a terminal raw, and the escapes that
show them instead, visibly and unambiguously (so an escaped line can be read back to the exact bytes).

The escapes, after every backslash in the data is doubled:
  \\t \\n \\r       tab, newline, carriage return
  \\xHH           an ASCII control character (HH < 80), or a byte that is not part of valid UTF-8 (HH >= 80)
  \\uXXXX         a character from U+0080 up (its UTF-8 bytes were in the data), \\UXXXXXXXX above U+FFFF
"""

import re

# What a terminal obeys instead of showing: C0 controls (ESC starts a sequence, BEL rings, CR overwrites),
# DEL, the C1 controls U+0080-U+009F (U+009B is CSI on terminals that honour 8-bit controls), the line and
# paragraph separators, and the bidi overrides and isolates that reorder what is shown ("Trojan Source").
UNSAFE_ON_TERMINAL = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{UNSAFE_ON_TERMINAL}]")

# JSON strings: json's encoder already writes C0 controls as \u00XX; these others are valid JSON raw, but
# would reach a terminal through `cat` or `jq -c`, and U+2028/2029 end lines in JavaScript before ES2019.
_JSON_EXTRA = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(char):
    short = _SHORT.get(char)
    if short:
        return short
    code = ord(char)
    if code < 0x80:
        return "\\x%02x" % code
    return "\\u%04x" % code if code <= 0xFFFF else "\\U%08x" % code


def _escape_match(match):
    return _escape(match.group())


def _decoded(data):
    """The bytes as text with backslashes doubled and each byte that is not valid UTF-8 as \\xHH."""
    return data.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def for_terminal(data):
    """Bytes as UTF-8 bytes a terminal shows without obeying: the unsafe characters escaped."""
    text = _decoded(data)
    if not text.isprintable():  # everything unsafe is also not printable: the common case is one C call
        text = _UNSAFE.sub(_escape_match, text)
    return text.encode("utf-8")


def printable(data):
    """Bytes as text of printable characters only (for people): every other character escaped."""
    text = _decoded(data)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def json_safe(encoded):
    """A JSON string literal (from json's encoder) with the characters above written as \\uXXXX too."""
    if encoded.isascii() and "\x7f" not in encoded:  # nearly always: no search at all
        return encoded
    return _JSON_EXTRA.sub(lambda m: "\\u%04x" % ord(m.group()), encoded)
