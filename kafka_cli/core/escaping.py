"""Message data shown safely: the characters that must never reach a terminal raw, and the escapes that
show them instead, visibly and unambiguously (so an escaped line can be read back to the exact bytes).

The escapes, after every backslash in the data is doubled:
  \\t \\n \\r       tab, newline, carriage return
  \\xHH           an ASCII control character (HH < 80), or a byte that is not part of valid UTF-8 (HH >= 80)
  \\uXXXX         a character from U+0080 up (its UTF-8 bytes were in the data), \\UXXXXXXXX above U+FFFF
"""

import re

# Unicode's format characters (category Cf, as of Unicode 15): shown as nothing, yet they change what is shown
# around them or are there unseen, so two different keys could look the same on a screen. The bidi marks and
# overrides (LRM, RLM, ALM, U+202A-E, the isolates U+2066-9) reorder the text around them ("Trojan Source");
# the zero-width space, joiners, word joiner, BOM, soft hyphen, invisible operators, the deprecated format
# characters U+206A-F and the tag characters (U+E0001, U+E0020-7F) show as nothing; the others (Arabic and
# Syriac number marks, interlinear annotation, Egyptian, shorthand and musical format controls) are as invisible
# on a terminal. tests/unit/test_escaping.py checks the list against Python's unicodedata.
FORMAT_CHARACTERS = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
                     "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
                     "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f")

# What a terminal obeys instead of showing: C0 controls (ESC starts a sequence, BEL rings, CR overwrites),
# DEL, the C1 controls U+0080-U+009F (U+009B is CSI on terminals that honour 8-bit controls), the line and
# paragraph separators; and the format characters above, which it shows as nothing.
UNSAFE_ON_TERMINAL = "\x00-\x1f\x7f-\x9f\u2028\u2029" + FORMAT_CHARACTERS
_UNSAFE = re.compile(f"[{UNSAFE_ON_TERMINAL}]")

# JSON strings: json's encoder already writes C0 controls as \u00XX; these others are valid JSON raw, but
# would reach a terminal through `cat` or `jq -c`, and U+2028/2029 end lines in JavaScript before ES2019.
# They are written as \uXXXX (a pair of them for a character above U+FFFF): the same string to a JSON reader.
_JSON_EXTRA = re.compile(f"[\x7f-\x9f\u2028\u2029{FORMAT_CHARACTERS}]")

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


def printable_text(text):
    """Any str (a name a broker or another client chose: a group id, a host, a client id) as printable text:
    printable() of its UTF-8 (a lone surrogate written as its \\udcXX escape first)."""
    return printable(str(text).encode("utf-8", "backslashreplace"))


def _json_escape(match):
    code = ord(match.group())
    if code <= 0xFFFF:
        return "\\u%04x" % code
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON writes a character above U+FFFF
    return "\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


def json_safe(encoded):
    """A JSON string literal (from json's encoder) with the characters above written as \\uXXXX too."""
    if encoded.isascii() and "\x7f" not in encoded:  # nearly always: no search at all (isascii() reads a flag)
        return encoded
    return _JSON_EXTRA.sub(_json_escape, encoded)


# Status text for stderr (errors, warnings): what a broker, a registry or message data put into it must not
# reach a terminal raw either. Lone surrogates (a registry's JSON can hold "\udc80") are escaped too: they are
# no character at all and would be written as backslash escapes by the stream anyway, only less visibly.
_UNSAFE_IN_STATUS = re.compile(f"[{UNSAFE_ON_TERMINAL}\ud800-\udfff]")


def shown(text):
    """Status text (str) safe on a terminal: every character a terminal would obey instead of showing, escaped
    as in message data. The one function every line on stderr passes through (terminal.py's log handler and
    errors.CliError), so no call site has to remember it."""
    text = str(text)
    if text.isprintable():  # the common case: one C call, no search
        return text
    return _UNSAFE_IN_STATUS.sub(_escape_match, text)
