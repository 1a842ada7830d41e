"""Members of Congress as Quiver spells them: one person, however the name is written.

Quiver writes the same member several ways across filings ("Thomas H. Tuberville" and "Tommy
Tuberville", "A. Mitchell McConnell, Jr." and "Mitch McConnell", "Zoë Lofgren" and "Zoe Lofgren").
`parse_name` reduces a name to its surname and given names: accents, case and punctuation dropped,
titles ("Hon.", "Sen.") and suffixes ("Jr.", "III") removed, initials left out, and each given name
read together with the formal names it is a nickname of ("Tommy" is Thomas). Two names are the same
member (`same_member`) when their surnames agree and a given name of one is a given name of the
other (or one of them gives only the surname).

A strategy may also name a member by Congress's BioGuide ID (`P000197`), which no spelling changes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

BIOGUIDE_ID = re.compile(r"^[A-Z]\d{6}$")

_TITLES = frozenset(
    {"hon", "honorable", "rep", "representative", "sen", "senator", "dr", "mr", "mrs", "ms"}
)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "md", "phd", "esq", "dds", "cpa"})
# Nickname → the formal given names it stands for, the most common first (the first is the one a
# transaction's identity uses). Gathered from the spellings Quiver's congress data mixes.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "abe": ("abraham",),
    "al": ("albert", "alan", "alexander", "alfred"),
    "alex": ("alexander", "alexandra", "alexandria"),
    "andy": ("andrew",),
    "ben": ("benjamin",),
    "beth": ("elizabeth",),
    "betty": ("elizabeth",),
    "bill": ("william",),
    "billy": ("william",),
    "bob": ("robert",),
    "bobby": ("robert",),
    "brad": ("bradley",),
    "cathy": ("catherine",),
    "charlie": ("charles",),
    "chris": ("christopher", "christine", "christina"),
    "chuck": ("charles",),
    "dan": ("daniel",),
    "danny": ("daniel",),
    "dave": ("david",),
    "deb": ("deborah",),
    "debbie": ("deborah",),
    "dick": ("richard",),
    "don": ("donald",),
    "doug": ("douglas",),
    "ed": ("edward",),
    "eddie": ("edward",),
    "frank": ("francis", "franklin"),
    "fred": ("frederick",),
    "gerry": ("gerald",),
    "greg": ("gregory",),
    "hank": ("henry",),
    "harry": ("henry", "harold"),
    "jack": ("john",),
    "jamie": ("james",),
    "jeff": ("jeffrey",),
    "jen": ("jennifer",),
    "jenny": ("jennifer",),
    "jerry": ("gerald", "jerome", "jeremiah"),
    "jim": ("james",),
    "jimmy": ("james",),
    "joe": ("joseph",),
    "johnny": ("john",),
    "jon": ("jonathan",),
    "josh": ("joshua",),
    "kate": ("katherine", "kathleen"),
    "kathy": ("katherine", "kathleen"),
    "ken": ("kenneth",),
    "larry": ("lawrence",),
    "liz": ("elizabeth",),
    "lou": ("louis",),
    "maggie": ("margaret",),
    "marty": ("martin",),
    "matt": ("matthew",),
    "mike": ("michael",),
    "mitch": ("mitchell",),
    "nick": ("nicholas",),
    "pat": ("patrick", "patricia"),
    "peggy": ("margaret",),
    "pete": ("peter",),
    "phil": ("philip", "phillip"),
    "randy": ("randall", "randolph"),
    "rich": ("richard",),
    "rick": ("richard",),
    "ro": ("rohit",),
    "rob": ("robert",),
    "ron": ("ronald",),
    "russ": ("russell",),
    "sam": ("samuel",),
    "sandy": ("sandra",),
    "steve": ("stephen", "steven"),
    "ted": ("edward", "theodore"),
    "tim": ("timothy",),
    "tom": ("thomas",),
    "tommy": ("thomas",),
    "tony": ("anthony",),
    "vern": ("vernon",),
    "vicky": ("victoria",),
    "wes": ("wesley",),
    "will": ("william",),
    "zach": ("zachary",),
}


@dataclass(frozen=True)
class MemberName:
    """A member's name reduced for comparison: the surname, and each given name with the formal
    names it may stand for (`given`), initials and suffixes left out; `first` is the first given
    name in its most common formal form ("" when only the surname is known)."""

    surname: str
    given: tuple[frozenset[str], ...]
    first: str = ""

    @property
    def identity(self) -> str:
        """One text per member: the first given name (formal) and the surname."""
        return f"{self.first} {self.surname}" if self.first else self.surname


def words(name: str) -> list[str]:
    """The name's words: accents dropped, case folded, apostrophes joined, other marks spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    plain = re.sub(r"['\u2019`]", "", plain)
    return re.findall(r"[^\W_]+", plain)


def parse_name(name: str) -> MemberName | None:
    """`name` reduced for comparison (see the module docstring); None when nothing is left."""
    tokens = [word for word in words(name) if word not in _TITLES]
    while tokens and tokens[-1] in _SUFFIXES:
        tokens.pop()
    tokens = [word for word in tokens if len(word) > 1 or word.isdigit()]
    tokens = [word for word in tokens if word not in _SUFFIXES]
    if not tokens:
        return None
    *given, surname = tokens
    first = NICKNAMES.get(given[0], (given[0],))[0] if given else ""
    return MemberName(surname, tuple(_expand(word) for word in given), first)


def _expand(word: str) -> frozenset[str]:
    return frozenset({word, *NICKNAMES.get(word, ())})


def same_member(first: MemberName, second: MemberName) -> bool:
    """True when both names can be the same member (see the module docstring)."""
    if first.surname != second.surname:
        return False
    if not first.given or not second.given:
        return True
    return any(a & b for a in first.given for b in second.given)


@lru_cache(maxsize=4096)
def member_identity(name: str | None) -> str:
    """A member as a transaction's identity reads it: one text however the name is spelled
    (remembered: a day's filings name a few hundred members many times over)."""
    parsed = parse_name(name or "")
    return parsed.identity if parsed is not None else " ".join((name or "").split()).casefold()


def is_bioguide_id(text: str) -> bool:
    """True for a BioGuide ID: a capital letter and six digits (`P000197`)."""
    return bool(BIOGUIDE_ID.match(text.strip()))
