"""What a new password may not be (ASVS 5.0 6.2.4): one of the 10,000 most common, or the uid inside it.

The list is the ranked "passwords" list bundled with zxcvbn (Dropbox's password
strength estimator, MIT, maintained as the ``zxcvbn`` package on PyPI), most
common first, so "the 10,000 most common" is simply its first 10,000 entries.
It is read straight from the package's data file, without importing zxcvbn:
importing it builds all of its dictionaries (about 12 MB and 0.2 s) for a list
we only need as a set. Read once per process, then a lookup is one set probe.

The policy judges the password as it is hashed (NFKC, passwords.py), with case
folded and whitespace and invisible characters removed (:func:`judged_form`).
Existing passwords are never checked here: this is for new passwords only
(signup, change, reset), so nobody is locked out by a list update.
"""

import functools
import importlib.util
import unicodedata
from pathlib import Path

COMMON_COUNT = 10_000
MIN_UID_LENGTH = 4  # shorter uids ("al", "bob") appear in too many good passwords by chance
TOO_COMMON = "password is too common"
CONTAINS_UID = "password must not contain the uid"
ONLY_WHITESPACE = "password must not be only spaces"

_LIST_FILE = "frequency_lists.py"
_LIST_PREFIX = '"passwords": "'


class PolicyListMissing(RuntimeError):
    """The bundled list could not be read: the service must not start without its policy."""


def _read_ranked_list() -> list[str]:
    spec = importlib.util.find_spec("zxcvbn")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise PolicyListMissing("the zxcvbn package (the common-password list) is not installed: pip install zxcvbn")
    source = Path(next(iter(spec.submodule_search_locations))) / _LIST_FILE
    with open(source, encoding="utf-8") as lines:
        for line in lines:
            text = line.strip()
            if text.startswith(_LIST_PREFIX):
                return text[len(_LIST_PREFIX):].rstrip(",").rstrip('"').split(",")
    raise PolicyListMissing(f"no ranked password list found in {source}")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords, case-folded; read on first use, once per process."""
    ranked = _read_ranked_list()
    if len(ranked) < COMMON_COUNT:
        raise PolicyListMissing(f"the bundled list has {len(ranked)} passwords, fewer than {COMMON_COUNT}")
    return frozenset(word.casefold() for word in ranked[:COMMON_COUNT])


def judged_form(password: str) -> str:
    """What the policy judges: the NFKC form (as it is hashed), case folded, without whitespace or
    invisible format characters, so "ｐａｓｓｗｏｒｄ", "password ", "pass word" and "Pa\u200bssword" are
    all "password"."""
    folded = unicodedata.normalize("NFKC", password).casefold()
    return "".join(c for c in folded if not c.isspace() and unicodedata.category(c) != "Cf")


def refusal(password: str, uid: str | None) -> str | None:
    """Why ``password`` may not be a new password for ``uid``, or None when it may."""
    folded = judged_form(password)
    if not folded:
        return ONLY_WHITESPACE
    if folded in common_passwords():
        return TOO_COMMON
    if uid and len(uid) >= MIN_UID_LENGTH and uid.casefold() in folded:
        return CONTAINS_UID
    return None
