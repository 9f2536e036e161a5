"""Company names in any alias, language or ticker resolve to catalog ids; prefixes suggest."""

import pytest

from bot.classify.catalog import Catalog, Company, load_catalog
from bot.commands.resolve import CompanyIndex, build_index, normalise_name


@pytest.fixture(scope="module")
def index() -> CompanyIndex:
    return build_index(load_catalog())


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("华为", "huawei"),
        ("華為", "huawei"),
        ("英伟达", "nvidia"),
        ("NVDA", "nvidia"),
        ("nvda", "nvidia"),
        ("$NVDA", "nvidia"),
        ("NASDAQ:NVDA", "nvidia"),
        ("ＮＶＩＤＩＡ", "nvidia"),  # full-width Latin
        ("  huawei   technologies ", "huawei"),
        ("HUAWEI", "huawei"),
        ("HiSilicon", "huawei"),  # a unit names its parent
        ("2330", "tsmc"),
        ("nvidia", "nvidia"),
    ],
)
def test_aliases_languages_and_tickers_resolve(
    index: CompanyIndex, typed: str, expected: str
) -> None:
    assert index.resolve(typed) == expected


def test_unknown_and_partial_names_do_not_resolve(index: CompanyIndex) -> None:
    assert index.resolve("huawe") is None
    assert index.resolve("华") is None  # CJK matches exactly, never by prefix
    assert index.resolve("") is None


def test_suggest_puts_the_exact_hit_first_then_prefixes(index: CompanyIndex) -> None:
    assert index.suggest("nvda")[0] == ("nvidia", "Nvidia")
    hu = index.suggest("hu")
    assert hu[0] == ("huawei", "Huawei")
    assert len({cid for cid, _ in hu}) == len(hu)  # one choice per company
    assert ("nvidia", "Nvidia (英伟达)") in index.suggest("英")


def test_suggest_respects_the_limit_and_lists_all_for_an_empty_prefix(
    index: CompanyIndex,
) -> None:
    assert len(index.suggest("", limit=25)) == 25
    assert len(index.suggest("a", limit=3)) == 3
    assert index.suggest("zzzz") == []


def test_an_ambiguous_secondary_name_is_left_out() -> None:
    catalog = Catalog(
        companies=(
            Company("one", "One", units=("Shared Unit",), weak_names=("Solo",)),
            Company("two", "Two", units=("Shared Unit",)),
        ),
        topics=(),
    )
    index = build_index(catalog)
    assert index.resolve("shared unit") is None
    assert index.resolve("solo") == "one"


def test_normalise_name_folds_case_width_and_space() -> None:
    assert normalise_name(" Ｈuawei  Cloud ") == "huawei cloud"
    assert normalise_name("华为") == "华为"
