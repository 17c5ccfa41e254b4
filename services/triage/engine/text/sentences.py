"""PyRuSH's sentence boundaries, without trying its rules where none can match.

PyRuSH finds sentence starts and ends with PyFastNER's FastCNER: a trie of its ~980 rules, walked
in pure Python from EVERY character of the text (a few dozen calls per character: half of
triage's reading CPU). From most positions no rule can match, and a walk that reaches no rule's
end changes nothing (only `addDeterminants`, at a rule's end, writes the matches).

So the trie is also compiled once into one regular expression that accepts at least every
position from which FastCNER's walk may reach a rule's end (wildcards as exact character classes,
group marks and `\\b` as zero-width, a repeat `x+` as "nothing more, the greedy run capped as
FastCNER caps it, or a literal '+'", `\\e` as the text's end), and FastCNER's own walk runs only
from the positions it finds, in the same order: the matches, and so the boundaries, are
FastCNER's. Characters past U+00FF are scanned as a Latin-1 stand-in that every wildcard treats
alike (rule letters past U+00FF, such as '•', stay themselves). Text with a backslash (FastCNER
reads one as a rule's wildcard mark), a character without a stand-in, or a rule construct the
compiler does not model gets FastCNER's full walk. bench/splitter_equivalence.py compares the
two over every table row and the hostile shapes.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

END = "<END>"  # FastCNER.END: the key under which a rule's trie path ends
# FastCNER's wildcards (WildCardFunctions), as predicates on one character.
_TESTS: dict[str, Callable[[str], bool]] = {
    "s": lambda c: c in " \t\xa0",
    "n": lambda c: c in "\n\r",
    "d": str.isdigit,
    "C": str.isupper,
    "c": str.islower,
    "p": lambda c: c in string.punctuation,
    "a": lambda c: not c.isspace(),
    "u": lambda c: c > "~" and ord(c) != 160,
    "w": lambda c: c > "~" or c.isspace(),
}
_WIDE = re.compile("[^\x00-\xff]")


class Unsupported(ValueError):
    """A rule trie with a construct the compiler does not model (FastCNER then runs in full)."""


def _signature(char: str) -> tuple[bool, ...]:
    return tuple(test(char) for test in _TESTS.values())


def _char_class(test: Callable[[str], bool], extra: set[str]) -> str:
    """The characters up to U+00FF that pass, as ranges, and the rules' own later letters."""
    codes = [i for i in range(256) if test(chr(i))] + sorted(ord(c) for c in extra if test(c))
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    if not ranges:
        return "(?!)"
    return "[" + "".join(_code(a) if a == b else f"{_code(a)}-{_code(b)}" for a, b in ranges) + "]"


def _code(code: int) -> str:
    return f"\\x{code:02x}" if code <= 0xFF else f"\\U{code:08x}"


def _literals(node: dict[str, Any], found: set[str]) -> set[str]:
    """Every character a rule matches literally (not the wildcards after a backslash)."""
    for key, child in node.items():
        if key == "\\":
            for grandchild in child.values():
                if isinstance(grandchild, dict):
                    _literals(grandchild, found)
        elif key != END:
            found.add(key)
            _literals(child, found)
    return found


class _Compiler:
    def __init__(self, classes: dict[str, str], max_repeat: int) -> None:
        self.classes = classes
        self.max_repeat = max_repeat

    def repeat(self, via: tuple[str, str]) -> str:
        """What FastCNER's replication after a node reached `via` consumes (possessively)."""
        kind, key = via
        if kind == "wild":
            if key not in self.classes:
                return ""  # FastCNER logs "not a eligible syntax" and repeats nothing
            unit = self.classes[key]
        else:  # a literal character, or a zero-width mark: FastCNER repeats that character
            unit = re.escape(key)
        return f"{unit}{{0,{self.max_repeat}}}+"

    def node(self, node: dict[str, Any], via: tuple[str, str]) -> str:
        """A pattern accepting (at least) wherever FastCNER's walk from `node` ends a rule."""
        if END in node:
            return ""
        parts = []
        for key, child in node.items():
            if key == "\\":
                parts.extend(self.wildcards(child))
            elif key in ("(", ")"):  # group marks: zero-width
                parts.append(self.node(child, ("zero", key)))
            elif key == "+":
                # one (already matched), the greedy run, or a literal '+' of the text
                body = self.node(child, ("zero", "+"))
                parts.append(f"(?:{self.repeat(via)}|\\+)?{body}")
            else:
                parts.append(re.escape(key) + self.node(child, ("lit", key)))
        if "" in parts:
            return ""
        return "(?:" + "|".join(parts) + ")" if parts else "(?!)"

    def wildcards(self, node: dict[str, Any]) -> list[str]:
        parts = []
        for wild, child in node.items():
            if wild in self.classes:
                parts.append(self.classes[wild] + self.node(child, ("wild", wild)))
            elif wild in ("(", ")"):
                parts.append(re.escape(wild) + self.node(child, ("wild", wild)))
            elif wild == "b":  # the text's first position, zero-width
                parts.append(r"\A" + self.node(child, ("wild", "b")))
            elif wild == "e":  # the text's end: FastCNER ends the rule there
                parts.append(r"\Z")
            elif wild == "+":
                raise Unsupported("wildcard \\+")
            # "\\\\" needs a backslash in the text (that text gets the full walk); any other
            # \x: FastCNER logs "not a eligible syntax" and goes no further
        return parts


class Starts:
    """Where FastCNER's walk over a rule trie may end a rule, found by one regular expression."""

    def __init__(self, rule_map: dict[str, Any], max_repeat: int) -> None:
        wide = {c for c in _literals(rule_map, set()) if ord(c) > 0xFF}
        classes = {key: _char_class(test, wide) for key, test in _TESTS.items()}
        self.pattern = re.compile("(?=" + _Compiler(classes, max_repeat).node(
            rule_map, ("lit", " ")) + ")")
        self.wide = wide
        literal = _literals(rule_map, set())
        # a stand-in per wildcard signature: a Latin-1 letter no rule names literally
        self.stand_ins: dict[tuple[bool, ...], str] = {}
        for code in range(0xFF, 0x7F, -1):
            char = chr(code)
            if char not in literal and char != "\xa0":
                self.stand_ins[_signature(char)] = char

    def scanned(self, text: str) -> str | None:
        """The text as the pattern scans it (same length), or None if it cannot be."""
        if "\\" in text:
            return None
        if text.isascii():
            return text
        table = {}
        for char in set(_WIDE.findall(text)) - self.wide:
            stand_in = self.stand_ins.get(_signature(char))
            if stand_in is None:
                return None
            table[ord(char)] = stand_in
        return text.translate(table)

    def positions(self, text: str) -> list[int] | None:
        scanned = self.scanned(text)
        if scanned is None:
            return None
        length = len(text)
        return [i for i in (m.start() for m in self.pattern.finditer(scanned)) if i < length]


def _replication_cap() -> int:
    from PyFastNER import ReplicationFunctionsLambda

    return int(ReplicationFunctionsLambda.gmax_repeat)  # a module global, set per FastCNER


def skip_unmatchable(fastner: Any) -> bool:
    """Make `fastner.process` walk only from positions where a rule may end (same matches).
    False, and nothing changed, if its rules use a construct the compiler does not model."""
    cap = _replication_cap()
    try:
        starts = Starts(fastner.rule_map, cap)
    except (Unsupported, re.error, RecursionError):
        return False
    full = fastner.process
    walk = fastner.processRules
    rule_map = fastner.rule_map

    def process(text: str, offset: int = 0, matches: dict | None = None) -> dict:
        if matches is None:
            matches = {}
        positions = starts.positions(text) if _replication_cap() == cap else None
        if positions is None:
            return full(text, offset, matches)
        fastner.offset = offset
        fastner.overlap_checkers.clear()
        for i in positions:
            walk(text, rule_map, i, 0, i, matches, text[i - 1] if i > 0 else " ", False, " ")
        fastner.removePseudo(matches)
        return matches

    fastner.process = process
    fastner.full_process = full
    return True
