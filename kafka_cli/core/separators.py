"""The escapes a person types in a separator, a null marker or a -F template: kcat's \\t \\n \\xHH, and ours
\\r \\0 \\\\; any other backslash means itself, so a plain '\\' or a Windows path stays as typed. One rule, read
once: `escapes_problem` says why a text cannot be turned into bytes, `unescape` turns it."""

import os
import re

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "0": "\0", "\\": "\\"}
_BACKSLASH = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)", re.S)  # a backslash: \xHH, or the one character after it


def escapes_problem(text):
    r"""Why `text` cannot be turned into bytes, or None. A \x must be followed by two hex digits (kcat's \xHH).
    A lone surrogate has no bytes at all; a command line never holds one (its bytes that are not UTF-8 arrive
    as U+DC80-U+DCFF, which turn back into those bytes), but a caller from Python can pass one."""
    for match in _BACKSLASH.finditer(text):
        if match.group(1) == "x":
            return f"\\x at position {match.start()} must be followed by two hex digits (\\xHH), or write \\\\x"
    for at, char in enumerate(text):
        if "\ud800" <= char < "\udc80" or "\udd00" <= char <= "\udfff":
            return f"holds a lone surrogate \\u{ord(char):04x} at position {at}, which has no bytes"
    return None


def _replace(match):
    code = match.group(1)
    if code[0] == "x":
        return chr(int(code[1:], 16))  # U+0000-U+00FF: the byte itself once encoded as latin-1 below
    return _ESCAPES.get(code, match.group(0))


def unescape(text):
    """`text` (str, or bytes from the command line) as bytes with the escapes applied. ValueError, with
    escapes_problem's reason, for a text that has none."""
    text = os.fsdecode(text)
    problem = escapes_problem(text)
    if problem is not None:
        raise ValueError(problem)
    # each character is either an escape's one byte (U+0000-U+00FF, marked by surrogateescape below) or typed
    # text, encoded as the command line gave it
    out, at = [], 0
    for match in _BACKSLASH.finditer(text):
        out.append(os.fsencode(text[at:match.start()]))
        replaced = _replace(match)
        out.append(replaced.encode("latin-1") if replaced != match.group(0) else os.fsencode(replaced))
        at = match.end()
    out.append(os.fsencode(text[at:]))
    return b"".join(out)
