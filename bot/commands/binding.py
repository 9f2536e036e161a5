"""Arguments bound once: a command's declared `Param`s → the typed keyword arguments of its handler.

Two sources, one result. Discord's typed options (`Command.options`) are read one value per
option: a company option is one company whatever it looks like (`company:2330` is TSMC), a
number arrives as a number. The words people type on Slack and in `chipwire ask`
(`Command.args`) are read by kind:

* single-word parameters that lead the list (`feeds <action>`, `why <article>`) take the first
  words, in order;
* a phrase (`search <query…>`) takes the remaining words, once the parameters declared after
  it are taken from the end: `search export licence nvidia 7` searches "export licence" about
  Nvidia in the last 7 days;
* otherwise numbers, schedules and time zones are recognised by their form, in any order, and
  the words left over name the company (`latest ant group 3`) or companies (`trend ant group
  NVDA`); a number outside its range that is a ticker is a company (`latest 2330`).

A value that cannot be read is a `UsageError` (the reply adds the usage line); an unknown
company is a `CommandError` with the names the user may have meant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.commands.messages import Command, split_words
from bot.commands.resolve import CompanyIndex
from bot.digest.schedules import ScheduleError, check_timezone, parse_schedule
from bot.text import one_line, truncate

Kind = Literal["str", "phrase", "int", "float", "company", "choice", "schedule", "timezone"]

MOST_NAME_WORDS = (
    3  # the longest run of words tried as one company name ("Taiwan Semiconductor Manufacturing")
)
SCHEDULE_WORDS = {"daily": 2, "weekdays": 2, "weekly": 3}  # words each schedule form takes
EVERY = frozenset({"all", "everything"})
_NUMBER = re.compile(r"\d*\.\d+|\d+")
_LEADING: frozenset[Kind] = frozenset({"str", "choice"})
_WORD_KINDS = {"schedule": "schedule", "timezone": "time zone"}  # named in "'x' is not …"


class CommandError(Exception):
    """A problem the user can fix: `message` says what happened, `hints` what to do."""

    def __init__(self, message: str, *hints: str) -> None:
        super().__init__(message)
        self.message = message
        self.hints = hints


class UsageError(CommandError):
    """Arguments the command cannot read; the reply adds the command's usage line."""


class UnknownCompany(CommandError):
    """A name no company in the catalog goes by; `name` is the name as given."""

    def __init__(self, name: str, *hints: str) -> None:
        super().__init__(f"I don't know a company called '{name}'.", *hints)
        self.name = name


@dataclass(frozen=True)
class Param:
    """One argument: bound by `kind` into the handler's keyword argument `identifier`.

    `low`/`high` bound an int or float (Discord gets them as min_value/max_value); `many` takes
    several values (companies, words) as a tuple; `every` lets 'all' mean every company (an
    empty tuple); `default` is what the handler gets when the argument is not given.
    """

    name: str
    help: str
    required: bool = False
    kind: Kind = "str"
    choices: tuple[str, ...] = ()
    many: bool = False
    low: float | None = None
    high: float | None = None
    default: object = None
    every: bool = False

    @property
    def identifier(self) -> str:
        return re.sub(r"\W", "_", self.name)


Bound = dict[str, object]


def bind(index: CompanyIndex, name: str, params: Sequence[Param], command: Command) -> Bound:
    """The handler's keyword arguments: from Discord's options if it sent them, else the words."""
    if command.options is not None:
        bound = bind_options(index, params, command.options)
    else:
        bound = bind_words(index, name, params, command.args)
    return _completed(name, params, bound)


# Discord's typed options ---------------------------------------------------------------------


def bind_options(
    index: CompanyIndex, params: Sequence[Param], options: Mapping[str, object]
) -> Bound:
    """One value per option, keyed by the parameter's name; blank text counts as not given."""
    bound: Bound = {}
    for param in params:
        value = options.get(param.name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            continue
        bound[param.identifier] = _option_value(index, param, value)
    return bound


def _option_value(index: CompanyIndex, param: Param, value: object) -> object:
    if param.kind in ("int", "float") and isinstance(value, int | float):
        return _in_range(param, value)
    text = str(value)
    if param.kind == "company" and param.every and text.lower() in EVERY:
        return ()
    if param.kind == "company":
        return _names(index, _words(text)) if param.many else known_company(index, text)
    if param.many:
        return tuple(_words(text))
    return _read(param, text)


def _words(text: str) -> list[str]:
    try:
        return split_words(text)
    except ValueError:
        raise UsageError('cannot read that: a quote is not closed, e.g. "Intel Foundry".') from None


# typed words -----------------------------------------------------------------------------------


def bind_words(
    index: CompanyIndex, name: str, params: Sequence[Param], args: Sequence[str]
) -> Bound:
    words = list(args)
    bound: Bound = {}
    rest = list(params)
    while rest and rest[0].kind in _LEADING and not rest[0].many and words:
        param = rest.pop(0)
        bound[param.identifier] = _read(param, words.pop(0))
    while rest and rest[0].kind in _LEADING and not rest[0].many:
        rest.pop(0)  # not given: `_completed` says whether it was needed
    phrase = next((p for p in rest if p.kind == "phrase" or (p.kind == "str" and p.many)), None)
    if phrase is not None:
        _bind_phrase(index, phrase, rest, words, bound)
    elif rest:
        _bind_by_form(index, rest, words, bound)
    if words:
        raise UsageError(f"'{name}' takes at most {len(params)} argument(s).")
    return bound


def _bind_phrase(
    index: CompanyIndex, phrase: Param, params: list[Param], words: list[str], bound: Bound
) -> None:
    """The parameters after the phrase are taken from the end, leaving it at least one word."""
    for param in reversed(params[params.index(phrase) + 1 :]):
        taken = _from_end(index, param, words)
        if taken is not None:
            bound[param.identifier], count = taken
            del words[-count:]
    if words:
        bound[phrase.identifier] = " ".join(words) if phrase.kind == "phrase" else tuple(words)
        words.clear()


def _from_end(index: CompanyIndex, param: Param, words: list[str]) -> tuple[object, int] | None:
    if param.kind == "company":
        for span in range(min(MOST_NAME_WORDS, len(words) - 1), 0, -1):
            company = index.resolve(" ".join(words[-span:]))
            if company is not None:
                return company, span
        return None
    if len(words) > 1 and _recognised(param, words, len(words) - 1):
        return _read(param, words[-1]), 1
    return None


def _bind_by_form(index: CompanyIndex, params: list[Param], words: list[str], bound: Bound) -> None:
    """Numbers, schedules and time zones wherever they stand; the rest names companies."""
    company = next((p for p in params if p.kind == "company"), None)
    formed = [p for p in params if p is not company]
    left: list[str] = []
    at = 0
    while at < len(words):
        param = next((p for p in formed if _recognised(p, words, at, index, company)), None)
        if param is None:
            left.append(words[at])
            at += 1
            continue
        if param.identifier in bound:
            raise UsageError(f"give one {param.name}.")
        span = _span(param, words, at)
        bound[param.identifier] = _read(param, " ".join(words[at : at + span]))
        at += span
    words.clear()
    if not left:
        return
    if company is None:
        raise UsageError(f"'{truncate(one_line(left[0]), 40)}' is not {_expected(formed)}.")
    others = [_WORD_KINDS[p.kind] for p in formed if p.kind in _WORD_KINDS]
    bound[company.identifier] = _company_words(index, company, left, others)


def _company_words(
    index: CompanyIndex, param: Param, words: list[str], others: list[str]
) -> object:
    if param.every and len(words) == 1 and words[0].lower() in EVERY:
        return ()
    try:
        return _names(index, words) if param.many else known_company(index, " ".join(words))
    except UnknownCompany as exc:
        if not others:
            raise
        raise UsageError(
            f"'{truncate(exc.name, 40)}' is not a company, {' or '.join(others)}.", *exc.hints
        ) from None


def _recognised(
    param: Param,
    words: Sequence[str],
    at: int,
    index: CompanyIndex | None = None,
    company: Param | None = None,
) -> bool:
    """Whether the word at `at` has this parameter's form (the value may still be out of range)."""
    word = words[at]
    if param.kind == "int":
        if not word.isdigit():
            return False
        # a number no count can be but a ticker is, is the company: `latest 2330` is TSMC
        ticker = company is not None and index is not None and index.resolve(word) is not None
        return _fits(param, int(word)) or not ticker
    if param.kind == "float":
        return _NUMBER.fullmatch(word) is not None
    if param.kind == "schedule":
        first = word.split()[0].lower() if word.split() else ""
        return first in SCHEDULE_WORDS or len(word.split()) == 5
    if param.kind == "timezone":
        return "/" in word or word.upper() in ("UTC", "GMT")
    if param.kind == "choice":
        return word.lower() in param.choices
    return False


def _span(param: Param, words: Sequence[str], at: int) -> int:
    """How many words the value takes: 'weekly mon 09:00' three, a quoted schedule one."""
    if param.kind == "schedule" and len(words[at].split()) == 1:
        return SCHEDULE_WORDS.get(words[at].lower(), 1)
    return 1


def _expected(params: Sequence[Param]) -> str:
    kinds = [_describe(p) for p in params] or ["an argument here"]
    return " or ".join(kinds)


def _describe(param: Param) -> str:
    if param.kind in ("int", "float"):
        return f"{param.name} ({_range_text(param)})"
    return _WORD_KINDS.get(param.kind, param.name)


# one value -------------------------------------------------------------------------------------


def _read(param: Param, text: str) -> object:
    if param.kind == "int":
        if not text.isdigit():
            raise UsageError(f"{param.name} must be {_range_text(param)}, not '{_shown(text)}'.")
        return _in_range(param, int(text))
    if param.kind == "float":
        if _NUMBER.fullmatch(text) is None:
            raise UsageError(f"{param.name} must be {_range_text(param)}, not '{_shown(text)}'.")
        return _in_range(param, float(text))
    if param.kind == "choice" and text.lower() not in param.choices:
        raise UsageError(f"'{_shown(text)}' is not one of {', '.join(param.choices)}.")
    if param.kind == "choice":
        return text.lower()
    if param.kind == "schedule":
        return _checked(parse_schedule, text)
    if param.kind == "timezone":
        return _checked(check_timezone, text)
    return text.strip()


def _checked(read: Callable[[str], str], text: str) -> str:
    try:
        return read(text)
    except ScheduleError as exc:
        raise UsageError(f"{exc}.") from None


def _fits(param: Param, value: float) -> bool:
    low = param.low if param.low is not None else float("-inf")
    high = param.high if param.high is not None else float("inf")
    return low <= value <= high


def _in_range(param: Param, value: float) -> object:
    if isinstance(value, bool) or (param.kind == "int" and not float(value).is_integer()):
        raise UsageError(f"{param.name} must be {_range_text(param)}, not '{value}'.")
    if not _fits(param, value):
        raise UsageError(f"{param.name} must be {_range_text(param)}, not '{_number(value)}'.")
    return int(value) if param.kind == "int" else float(value)


def _range_text(param: Param) -> str:
    noun = "a whole number" if param.kind == "int" else "a number"
    if param.low is not None and param.high is not None:
        return f"{noun} from {_number(param.low)} to {_number(param.high)}"
    if param.low is not None:
        return f"{noun} from {_number(param.low)}"
    return noun


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _shown(text: str) -> str:
    return truncate(one_line(text), 40)


# companies -------------------------------------------------------------------------------------


def known_company(index: CompanyIndex, text: str) -> str:
    """The company id for a name, alias or ticker; a CommandError with suggestions otherwise."""
    company_id = index.resolve(text)
    if company_id is not None:
        return company_id
    hints = index.close_matches(text, limit=5)
    hint = (
        "Did you mean " + ", ".join(name for _, name in hints) + "?"
        if hints
        else "Try a name, alias or ticker such as Nvidia, 华为 or NVDA."
    )
    raise UnknownCompany(truncate(one_line(text), 60), hint)


def _names(index: CompanyIndex, words: Sequence[str]) -> tuple[str, ...]:
    """Company ids from words and quoted names, in order, once; a name may span words
    ("ant group") and commas separate names ("nvidia,huawei")."""
    found: list[str] = []
    for group in _groups(words):
        found += _spanned(index, group)
    return tuple(dict.fromkeys(found))


def _groups(words: Sequence[str]) -> list[list[str]]:
    """Runs of plain words; a quoted name (a word with a space) is a run of its own."""
    groups: list[list[str]] = [[]]
    for word in words:
        if " " in word.strip():
            groups += [[word.strip()], []]
        else:
            groups[-1] += [w for w in re.split(r"[,\s]+", word) if w]
    return [g for g in groups if g]


def _spanned(index: CompanyIndex, words: list[str]) -> list[str]:
    if len(words) == 1:
        return [known_company(index, words[0])]
    found: list[str] = []
    at = 0
    while at < len(words):
        for span in range(min(MOST_NAME_WORDS, len(words) - at), 0, -1):
            company = index.resolve(" ".join(words[at : at + span]))
            if company is not None:
                break
        else:
            company, span = known_company(index, words[at]), 1  # raises with suggestions
        found.append(company)
        at += span
    return found


# what is left ----------------------------------------------------------------------------------


def _completed(name: str, params: Sequence[Param], bound: Bound) -> Bound:
    """Every parameter bound: a missing required one is a UsageError, the rest get defaults."""
    for param in params:
        given = bound.get(param.identifier)
        if param.required and (given is None or given == ()):
            raise UsageError(f"'{name}' needs {param.name}.")
        if param.identifier not in bound:
            bound[param.identifier] = param.default
    return bound
