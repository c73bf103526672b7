"""INI helpers shared by setup.cfg, tox.ini and pytest.ini readers."""

from __future__ import annotations

import configparser
import re

# Only "#" starts an inline comment: " ;" also introduces markers ("foo ; python_version<'3'").
_INLINE_COMMENT = re.compile(r"\s+#.*$")


def parse_ini(text: str, where: str, hints: list[str]) -> configparser.ConfigParser | None:
    """Parse INI text without interpolation ('%' and '{}' are common in tox files)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep extras names as written
    try:
        parser.read_string(text, source=where)
    except (configparser.Error, UnicodeError) as exc:
        hints.append(f"{where} does not parse ({type(exc).__name__}); ignored")
        return None
    return parser


def ini_lines(value: str) -> list[str]:
    """Non-empty lines of a multi-line INI value, comments removed."""
    lines: list[str] = []
    for raw in value.splitlines():
        line = raw.strip()
        if line.startswith(("#", ";")):
            continue
        line = _INLINE_COMMENT.sub("", line).strip()
        if line:
            lines.append(line)
    return lines


def ini_words(value: str) -> list[str]:
    """Items of a value separated by newlines, commas or spaces (testpaths, extras)."""
    return [word for line in ini_lines(value) for word in re.split(r"[,\s]+", line) if word]


def get_value(parser: configparser.ConfigParser | None, section: str, key: str) -> str | None:
    if parser is None or not parser.has_section(section):
        return None
    return parser.get(section, key, fallback=None)
