"""List the English words one slip from a lexicon word, which triage's speller never mends.

    python -m scripts.spelling_protected          # rewrite the list
    python -m scripts.spelling_protected --check  # exit 1 if the list is out of date

Run after changing red_flag_lexicon.yaml: a new lexicon word may have English neighbours
("bladder" has "ladder") that must stay as written. The word list is pyspellchecker's English
frequency dictionary (a development dependency; triage does not load it: ~40 MB).
"""

from __future__ import annotations

import sys

from services.triage.engine.text.lexicon import lexicon
from services.triage.engine.text.spelling import MIN_LETTERS, PROTECTED_PATH, Speller


def protected() -> list[str]:
    from spellchecker import SpellChecker

    english = SpellChecker(language="en").word_frequency.dictionary
    words = lexicon().words
    speller = Speller(words, frozenset())
    return sorted(
        w for w in english
        if len(w) >= MIN_LETTERS and w.isascii() and w.isalpha() and w not in words
        and speller.near(w)
    )


def main(argv: list[str]) -> int:
    text = "\n".join(protected()) + "\n"
    if "--check" in argv:
        current = PROTECTED_PATH.read_text(encoding="utf-8") if PROTECTED_PATH.exists() else ""
        if current != text:
            print(f"{PROTECTED_PATH} is out of date: run python -m scripts.spelling_protected")
            return 1
        return 0
    PROTECTED_PATH.write_text(text, encoding="utf-8")
    print(f"{PROTECTED_PATH}: {text.count(chr(10))} words")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
