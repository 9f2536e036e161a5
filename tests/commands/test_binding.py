"""Arguments bound from their declared kinds: typed words (Slack, `chipwire ask`) and Discord's
typed options give the handlers the same keyword arguments; what people type is read as meant."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.classify.catalog import load_catalog
from bot.commands.binding import CommandError, UsageError, bind_options, bind_words
from bot.commands.messages import Command, Reply, parse_command_line
from bot.commands.resolve import CompanyIndex, build_index
from bot.commands.table import Context, command, dispatch, make_context, spec_named
from bot.models import Classification
from bot.platforms.console.render import render_reply
from bot.store.repo import Store
from tests.commands.test_commands import NOW, NVIDIA, ago, settings_for, stored

ANT = Classification(True, 0.9, ("ant-group",), ("company:ant-group strong name", "topic:chip"))


@pytest.fixture(scope="module")
def index() -> CompanyIndex:
    return build_index(load_catalog())


def words(index: CompanyIndex, text: str) -> dict[str, object]:
    name, args = parse_command_line(text)
    spec = spec_named(name)
    assert spec is not None
    return bind_words(index, spec.name, spec.params, args)


def options(index: CompanyIndex, name: str, given: dict[str, Any]) -> dict[str, object]:
    spec = spec_named(name)
    assert spec is not None
    return bind_options(index, spec.params, given)


# typed words -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("latest ant group 3", {"company": "ant-group", "count": 3}),
        ("latest 3 ant group", {"company": "ant-group", "count": 3}),
        ("latest Samsung Electronics", {"company": "samsung"}),
        ("latest 2330", {"company": "tsmc"}),  # no count can be 2330; TSMC's ticker is
        ("latest 7", {"count": 7}),
        ("company “ant group”", {"name": "ant-group"}),
        ("company ant group", {"name": "ant-group"}),
        ("search Nvidia's", {"query": "Nvidia's"}),
        ("search l'export", {"query": "l'export"}),
        ("search export nvidia", {"query": "export", "company": "nvidia"}),
        ("search export ant group 7", {"query": "export", "company": "ant-group", "days": 7}),
        ("search “export licence” nvidia", {"query": "export licence", "company": "nvidia"}),
        ("search nvidia", {"query": "nvidia"}),  # the one word is what to find
        ("search 7", {"query": "7"}),
        ("trend ant group NVDA 14", {"companies": ("ant-group", "nvidia"), "days": 14}),
        ("trend nvidia,huawei", {"companies": ("nvidia", "huawei")}),
        ('trend "SK hynix" samsung nvidia', {"companies": ("sk-hynix", "samsung", "nvidia")}),
        (
            "subscribe nvidia 华为 weekly mon 09:00 Europe/Rome 0.6",
            {
                "companies": ("nvidia", "huawei"),
                "schedule": "0 9 * * mon",
                "timezone": "Europe/Rome",
                "min_relevance": 0.6,
            },
        ),
        ("subscribe “daily 07:30” all", {"schedule": "30 7 * * *", "companies": ()}),
        (
            'feeds edit 2 interval=7200 name="Alpha wire"',
            {"action": "edit", "target": ("2", "interval=7200", "name=Alpha wire")},
        ),
        ("FEEDS List", {"action": "list"}),
        ("help latest", {"command": "latest"}),
    ],
)
def test_words_are_bound_by_kind(index: CompanyIndex, text: str, bound: dict[str, Any]) -> None:
    assert words(index, text) == bound


@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        ("latest 99", UsageError, "count must be a whole number from 1 to 20, not '99'"),
        ("latest 3 4", UsageError, "give one count"),
        ("latest ant grop", CommandError, "I don't know a company called 'ant grop'"),
        ("search Ascend 0", UsageError, "days must be a whole number from 1 to 3650"),
        ("share 7 days", UsageError, "'days' is not days (a whole number from 1 to 365)"),
        ("subscribe frobnicate", UsageError, "'frobnicate' is not a company, schedule or time"),
        ("subscribe nvidia 1.5", UsageError, "min-relevance must be a number from 0 to 1"),
        ("subscribe daily 25:00", UsageError, "not understood"),
        ("feeds frob", UsageError, "'frob' is not one of list, add"),
        ("why 1 2", UsageError, "'why' takes at most 1 argument(s)"),
    ],
)
def test_words_that_cannot_be_bound_say_what_is_wrong(
    index: CompanyIndex, text: str, error: type[CommandError], says: str
) -> None:
    with pytest.raises(error) as raised:
        words(index, text)
    assert says in raised.value.message


def test_an_unknown_company_suggests_the_names_meant(index: CompanyIndex) -> None:
    with pytest.raises(CommandError) as raised:
        words(index, "latest samsung electornics 3")
    assert raised.value.hints == ("Did you mean Samsung Electronics?",)


# Discord's typed options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "given", "bound"),
    [
        ("latest", {"company": "2330"}, {"company": "tsmc"}),
        ("latest", {"company": "Ant Group", "count": 3}, {"company": "ant-group", "count": 3}),
        ("latest", {"company": "  ", "count": None}, {}),
        ("search", {"query": "export nvidia"}, {"query": "export nvidia"}),  # typed: no guessing
        ("search", {"query": "x", "days": 7}, {"query": "x", "days": 7}),
        (
            "subscribe",
            {"companies": 'nvidia "Intel Foundry" SK hynix', "min-relevance": 1.0},
            {"companies": ("nvidia", "intel", "sk-hynix"), "min_relevance": 1.0},
        ),
        ("subscribe", {"companies": "all"}, {"companies": ()}),
        ("subscribe", {"schedule": "weekdays 18:00"}, {"schedule": "0 18 * * mon-fri"}),
        (
            "feeds",
            {"action": "edit", "target": '2 name="Alpha wire"'},
            {"action": "edit", "target": ("2", "name=Alpha wire")},
        ),
    ],
)
def test_options_are_bound_as_typed(
    index: CompanyIndex, name: str, given: dict[str, Any], bound: dict[str, Any]
) -> None:
    assert options(index, name, given) == bound


@pytest.mark.parametrize(
    ("name", "given", "says"),
    [
        ("latest", {"count": 50}, "count must be a whole number from 1 to 20, not '50'"),
        ("subscribe", {"min-relevance": 1.5}, "min-relevance must be a number from 0 to 1"),
        ("latest", {"company": "Ant Grop"}, "I don't know a company called 'Ant Grop'"),
        ("subscribe", {"companies": '"Intel'}, "a quote is not closed"),
    ],
)
def test_options_out_of_range_or_unknown_are_refused(
    index: CompanyIndex, name: str, given: dict[str, Any], says: str
) -> None:
    with pytest.raises(CommandError) as raised:
        options(index, name, given)
    assert says in raised.value.message


def test_a_handler_must_take_exactly_its_declared_arguments() -> None:
    from bot.commands.binding import Param

    async def handler(ctx: Context, invocation: Command, *, counts: int) -> Reply:
        raise AssertionError("never run")

    with pytest.raises(TypeError, match="not its Params"):
        command("latest", "a second latest", Param("count", "How many", kind="int"))(handler)


# through dispatch, on a store ------------------------------------------------------------------


def story(title: str, days_ago: int) -> dict[str, object]:
    return {"title": title, "summary": "Accelerators.", "published_at": ago(days_ago)}


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[Context]:
    store = await Store.open(settings_for(tmp_path).database_url)
    await stored(
        store,
        "Chip Wire",
        (1, NVIDIA, story("Nvidia's export licence for H20", 1)),
        (2, NVIDIA, story("L'export des puces Nvidia", 2)),
        (3, ANT, story("Ant Group trains on domestic chips", 3)),
        (4, ANT, story("Ant Group export of AI services", 4)),
    )
    yield make_context(store, load_catalog(), lambda: NOW, settings_for(tmp_path))
    await store.close()


async def run(ctx: Context, text: str) -> Reply:
    name, args = parse_command_line(text)
    return await dispatch(ctx, Command(name, args, "console", "u1", True))


def titles(reply: Reply) -> list[str]:
    return [card.title for card in reply.cards]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("search Nvidia's", "Nvidia's export licence for H20"),
        ("search l'export", "L'export des puces Nvidia"),
    ],
)
async def test_an_apostrophe_is_part_of_the_word(ctx: Context, text: str, found: str) -> None:
    reply = await run(ctx, text)
    assert not reply.error, render_reply(reply)
    assert found in titles(reply)


async def test_a_typographic_quote_groups_a_company_name(ctx: Context) -> None:
    reply = await run(ctx, "company “ant group”")
    assert reply.title == "Ant Group"
    assert not reply.error
    assert titles(reply) == [
        "Ant Group trains on domestic chips",
        "Ant Group export of AI services",
    ]


async def test_a_name_before_a_count(ctx: Context) -> None:
    reply = await run(ctx, "latest ant group 1")
    assert reply.title == "Latest AI-chip news on Ant Group"
    assert titles(reply) == ["Ant Group trains on domestic chips"]


async def test_a_word_taken_as_a_filter_is_shown_in_the_heading(ctx: Context) -> None:
    within = await run(ctx, "search export nvidia")
    assert within.title == "Search: export about Nvidia"
    assert set(titles(within)) == {"Nvidia's export licence for H20", "L'export des puces Nvidia"}
    recent = await run(ctx, "search export ant group 7")
    assert recent.title == "Search: export about Ant Group in the last 7 days"
    assert titles(recent) == ["Ant Group export of AI services"]
    none = await run(ctx, "search photonics nvidia")
    assert none.title == "No stored article matches 'photonics' about Nvidia."
