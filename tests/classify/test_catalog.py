"""The catalog loads, validates with clear errors, and merges a user file by company id."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.classify.catalog import (
    DEFAULT_CATALOG,
    CatalogError,
    default_catalog_path,
    load_catalog,
)

REQUIRED = [
    "nvidia",
    "amd",
    "intel",
    "huawei",
    "ant-group",
    "alibaba",
    "tsmc",
    "smic",
    "cambricon",
    "deepseek",
    "baidu",
    "tencent",
    "samsung",
    "sk-hynix",
    "micron",
    "asml",
    "arm",
    "google",
    "amazon",
    "microsoft",
    "meta",
    "openai",
    "broadcom",
    "qualcomm",
    "cerebras",
    "groq",
    "moore-threads",
    "biren",
    "hygon",
    "apple",
    "xai",
]


def _write(tmp_path: Path, text: str, name: str = "extra.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_catalog_ships_in_the_package_and_config_links_to_it() -> None:
    assert default_catalog_path() == DEFAULT_CATALOG
    assert DEFAULT_CATALOG.parts[-3:] == ("bot", "data", "companies.toml")
    linked = DEFAULT_CATALOG.parents[2] / "config" / "companies.toml"
    assert linked.resolve() == DEFAULT_CATALOG.resolve()


def test_default_catalog_has_every_required_company() -> None:
    catalog = load_catalog()
    assert set(REQUIRED) <= set(catalog.ids)
    assert len(catalog.ids) == len(set(catalog.ids))


@pytest.mark.parametrize("cid", REQUIRED)
def test_every_company_has_a_display_name_and_chinese_or_strong_names(cid: str) -> None:
    company = load_catalog().company(cid)
    assert company.name
    assert company.all_names or company.weak_names
    assert 0.0 <= company.chip_weight <= 1.0


def test_big_companies_have_english_and_chinese_names() -> None:
    catalog = load_catalog()
    for cid in ("nvidia", "huawei", "tsmc", "ant-group", "alibaba", "intel", "samsung"):
        names = catalog.company(cid).names
        assert names.get("en"), cid
        assert names.get("zh-Hans"), cid
    assert "輝達" in catalog.company("nvidia").names["zh-Hant"]
    assert "台積電" in catalog.company("tsmc").names["zh-Hant"]


def test_units_parents_and_products_are_listed() -> None:
    catalog = load_catalog()
    assert "T-Head" in catalog.company("alibaba").units
    assert "HiSilicon" in catalog.company("huawei").units
    assert "Alipay" in catalog.company("ant-group").units
    assert "Alphabet" in catalog.company("google").weak_units
    assert {"H100", "GB200"} <= set(catalog.company("nvidia").products)
    assert "H20" in catalog.company("nvidia").weak_products
    assert {"Ascend 910C", "CloudMatrix"} <= set(catalog.company("huawei").products)
    assert "MI300X" in catalog.company("amd").products
    assert "Gaudi 3" in catalog.company("intel").products
    assert "Trainium" in catalog.company("amazon").products
    assert "Maia 100" in catalog.company("microsoft").products
    assert "NASDAQ:NVDA" in catalog.company("nvidia").tickers


def test_extra_file_adds_a_company_and_extends_an_existing_one(tmp_path: Path) -> None:
    extra = _write(
        tmp_path,
        """
[companies.tenstorrent]
name = "Tenstorrent"
chip_weight = 0.5
names.en = ["Tenstorrent"]
products = ["Blackhole"]

[companies.nvidia]
names.en = ["Team Green"]
""",
    )
    catalog = load_catalog(extra=extra)
    assert catalog.company("tenstorrent").products == ("Blackhole",)
    nvidia = catalog.company("nvidia")
    assert "Team Green" in nvidia.names["en"]
    assert "Nvidia" in nvidia.names["en"]
    assert "H100" in nvidia.products  # extended, not replaced
    assert catalog.sources[-1] == str(extra)


def test_extra_file_can_replace_or_disable(tmp_path: Path) -> None:
    extra = _write(
        tmp_path,
        """
[companies.apple]
disabled = true

[companies.arm]
replace = true
name = "Arm plc"
names.en = ["Arm plc"]
""",
    )
    catalog = load_catalog(extra=extra)
    assert "apple" not in catalog.ids
    assert catalog.company("arm").name == "Arm plc"
    assert catalog.company("arm").weak_names == ()


def test_merging_the_default_over_itself_changes_nothing() -> None:
    once = load_catalog()
    twice = load_catalog(extra=DEFAULT_CATALOG)
    assert once.companies == twice.companies
    assert once.topics == twice.topics


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('[companies.nvidia]\nnicknames = ["x"]\n', ["company 'nvidia'", "key 'nicknames'"]),
        ('[companies.acme]\nnames.en = ["Acme"]\n', ["company 'acme'", "key 'name'"]),
        ('[companies.nvidia]\ntickers = ["NVDA"]\n', ["company 'nvidia'", "key 'tickers'"]),
        ("[companies.nvidia]\nchip_weight = 3\n", ["company 'nvidia'", "key 'chip_weight'"]),
        ('[companies.nvidia]\nproducts = "H100"\n', ["company 'nvidia'", "key 'products'"]),
        ('[companies.nvidia.names]\nEnglish = ["x"]\n', ["company 'nvidia'", "names.English"]),
        ('[companies.Bad_Id]\nname = "x"\n', ["companies id 'Bad_Id'"]),
        ('[topics.gpu]\nkind = "maybe"\n', ["topic 'gpu'", "key 'kind'"]),
        ("[topics.snacks]\nweight = 1.0\n", ["topic 'snacks'", "key 'weight'"]),
        ("[feeds]\nurl = 'x'\n", ["unknown top-level key"]),
        ("[companies.nvidia\n", ["not valid TOML"]),
    ],
)
def test_bad_catalog_errors_name_file_entry_and_key(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    extra = _write(tmp_path, text, "mine.toml")
    with pytest.raises(CatalogError) as info:
        load_catalog(extra=extra)
    message = str(info.value)
    assert str(extra) in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nope.toml")


def test_catalog_values_are_frozen() -> None:
    company = load_catalog().company("nvidia")
    with pytest.raises(AttributeError):
        company.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        company.names["en"] = ("x",)  # type: ignore[index]


def test_a_user_catalog_is_read_like_the_config_file(tmp_path: Path) -> None:
    """One TOML reader: a byte-order mark is accepted and a non-UTF-8 byte is named by line."""
    with_bom = tmp_path / "bom.toml"
    with_bom.write_bytes(b'\xef\xbb\xbf[companies.nvidia]\nnames.it = ["Nvidia Corp."]\n')
    assert "Nvidia Corp." in load_catalog(extra=with_bom).company("nvidia").names["it"]
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'[companies.nvidia]\n\nnames.it = ["Nvidi\xe0"]\n')
    with pytest.raises(CatalogError, match=r"latin1\.toml: line 3 is not UTF-8 \(byte 0xe0\)"):
        load_catalog(extra=latin1)
