"""Slash commands through discord.py's own code: the tree it serialises, interactions it parses
and the HTTP calls it makes, against a fake Discord API on 127.0.0.1 and a real SQLite store."""

from __future__ import annotations

import re
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.classify.catalog import load_catalog
from bot.commands.messages import Card, Command, Moment, Phrase, Reply
from bot.commands.table import GENERIC_ERROR, Context, commands, make_context
from bot.platforms.discord import commands as discord_commands
from bot.platforms.discord.commands import (
    ADMIN_GROUP,
    GROUP,
    PRIVATE,
    build_tree,
    inline_markdown,
    reply_embeds,
    routed_client,
    sync_commands,
)
from bot.store.repo import Store
from tests.commands.test_commands import HUAWEI, NOW, NVIDIA, ago, settings_for, stored
from tests.platforms import HOSTILE_SUMMARY, HOSTILE_TITLE, PNG, chart
from tests.support.fake_discord import APP_ID, TOKEN, FakeDiscord, Shown, Upload, app_permissions

GUILD = "7001"
CHANNEL = "123"
MANAGE_GUILD = 1 << 5
ITOKEN = "itoken-abc"  # the interaction's token: its response and follow-ups are under it
ALL_PERMISSIONS = app_permissions()
NAME = re.compile(r"^[-_a-z0-9]{1,32}$")


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord().serving() as server:
        # Interaction responses go through discord.py's webhook adapter, which builds its URLs
        # from Route.BASE alone (no per-client base), so this test points that at the fake.
        monkeypatch.setattr(discord.http.Route, "BASE", server.base)
        yield server


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[Context]:
    store = await Store.open(settings_for(tmp_path).database_url)
    await stored(
        store,
        "Chip Wire",
        (1, HUAWEI, {"title": "Huawei Ascend 910C ships in volume", "published_at": ago(1)}),
        (2, HUAWEI, {"title": "Huawei CloudMatrix 384 racks", "published_at": ago(2)}),
        (4, NVIDIA, {"title": "Nvidia H20 export licence", "published_at": ago(3)}),
    )
    yield make_context(store, load_catalog(), lambda: NOW, settings_for(tmp_path))
    await store.close()


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    opened = routed_client(fake.base)
    await opened.login(TOKEN)
    yield opened
    await opened.close()


def tree_dicts(ctx: Context | None = None) -> list[dict[str, Any]]:
    client = discord.Client(intents=discord.Intents.none())
    tree = build_tree(client, lambda: ctx)  # type: ignore[arg-type,return-value]
    return [cmd.to_dict(tree) for cmd in tree.get_commands()]


def interaction_payload(
    group: str,
    sub: str,
    options: list[dict[str, Any]],
    *,
    permissions: int = 0,
    kind: int = 2,
    app_permissions: str = ALL_PERMISSIONS,
) -> dict[str, Any]:
    user = {"id": "555", "username": "asker", "discriminator": "0", "avatar": None}
    return {
        "id": "8001",
        "application_id": APP_ID,
        "type": kind,
        "token": ITOKEN,
        "version": 1,
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "channel": {
            "id": CHANNEL,
            "type": 0,
            "guild_id": GUILD,
            "name": "ai-chips",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "flags": 0,
        },
        "member": {
            "user": user,
            "roles": [],
            "joined_at": "2026-01-01T00:00:00.000000+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(permissions),
        },
        "app_permissions": app_permissions,
        "attachment_size_limit": 10 * 1024 * 1024,
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD},
        "context": 0,
        "data": {
            "id": "777",
            "name": group,
            "type": 1,
            "options": [{"name": sub, "type": 1, "options": options}],
        },
    }


async def run(client: discord.Client, ctx: Context, payload: dict[str, Any]) -> discord.Interaction:
    tree = build_tree(client, lambda: ctx)
    interaction: discord.Interaction = discord.Interaction(data=payload, state=client._connection)  # type: ignore[arg-type]
    await tree._call(interaction)
    return interaction


# the tree ------------------------------------------------------------------------------------


def test_every_command_is_registered_within_discord_limits() -> None:
    groups = {cmd["name"]: cmd for cmd in tree_dicts()}
    assert set(groups) == {GROUP, ADMIN_GROUP}
    registered: dict[str, dict[str, Any]] = {}
    for group in groups.values():
        assert NAME.fullmatch(group["name"])
        assert 1 <= len(group["description"]) <= 100
        assert 1 <= len(group["options"]) <= 25
        for sub in group["options"]:
            assert sub["type"] == 1  # SUB_COMMAND
            assert NAME.fullmatch(sub["name"])
            assert 1 <= len(sub["description"]) <= 100
            assert len(sub["options"]) <= 25
            registered[sub["name"]] = sub | {"group": group["name"]}
    assert set(registered) == {spec.name for spec in commands()}
    for spec in commands():
        sub = registered[spec.name]
        assert sub["group"] == (ADMIN_GROUP if spec.admin else GROUP)
        by_name = {opt["name"]: opt for opt in sub["options"]}
        assert set(by_name) == {p.name for p in spec.params}
        flags = [opt["required"] for opt in sub["options"]]
        assert flags == sorted(flags, reverse=True)  # Discord wants required options first
        for param in spec.params:
            opt = by_name[param.name]
            assert NAME.fullmatch(opt["name"])
            assert 1 <= len(opt["description"]) <= 100
            assert opt["required"] is param.required
            assert opt["type"] == {"int": 4, "float": 10}.get(param.kind, 3)
            assert opt.get("autocomplete", False) is (param.kind == "company")
            if param.choices:
                assert [c["value"] for c in opt["choices"]] == list(param.choices)


def test_admin_commands_need_manage_guild_by_default_and_a_server() -> None:
    groups = {cmd["name"]: cmd for cmd in tree_dicts()}
    assert groups[ADMIN_GROUP]["default_member_permissions"] == MANAGE_GUILD
    assert groups[GROUP]["default_member_permissions"] is None
    # `contexts` (0 server, 1 the bot's DMs) replaces the deprecated dm_permission; installed
    # to servers only (integration type 0).
    assert groups[ADMIN_GROUP]["contexts"] == [0]
    assert groups[GROUP]["contexts"] == [0, 1]
    assert groups[ADMIN_GROUP]["integration_types"] == groups[GROUP]["integration_types"] == [0]
    assert {o["name"] for o in groups[ADMIN_GROUP]["options"]} == {
        s.name for s in commands() if s.admin
    }


def test_ranged_options_declare_min_and_max_values() -> None:
    subs = {sub["name"]: sub for group in tree_dicts() for sub in group["options"]}
    for spec in commands():
        options = {opt["name"]: opt for opt in subs[spec.name]["options"]}
        for param in spec.params:
            opt = options[param.name]
            if param.kind in ("int", "float") and param.low is not None:
                assert opt["min_value"] == param.low
                assert opt["max_value"] == param.high
            else:
                assert "min_value" not in opt
                assert "max_value" not in opt
    latest = {opt["name"]: opt for opt in subs["latest"]["options"]}
    assert (latest["count"]["min_value"], latest["count"]["max_value"]) == (1, 20)
    subscribe = {opt["name"]: opt for opt in subs["subscribe"]["options"]}
    assert (subscribe["min-relevance"]["min_value"], subscribe["min-relevance"]["max_value"]) == (
        0,
        1,
    )


# interactions --------------------------------------------------------------------------------


def shown(fake: FakeDiscord) -> Shown:
    return fake.shown(ITOKEN)


async def test_a_quick_reply_is_the_interactions_response_itself(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    payload = interaction_payload(GROUP, "company", [{"name": "name", "type": 3, "value": "华为"}])
    await run(client, ctx, payload)

    (callback,) = fake.posted(r".*/interactions/8001/itoken-abc/callback")
    assert callback["type"] == 4  # CHANNEL_MESSAGE_WITH_SOURCE: no "thinking…" at all
    answer = shown(fake)
    assert not answer.thinking
    assert not answer.ephemeral
    assert answer.message is not None
    assert answer.message["allowed_mentions"] == {"parse": []}
    titles = [e.get("title") for e in answer.message["embeds"]]
    assert titles[0] == "Huawei"
    assert "Huawei Ascend 910C ships in volume" in titles
    assert any("Mentions:" in (e.get("description") or "") for e in answer.message["embeds"])
    assert fake.posted(r".*/webhooks/.*") == []


async def test_a_quick_error_is_private_from_the_start(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    payload = interaction_payload(ADMIN_GROUP, "unsubscribe", [], permissions=MANAGE_GUILD)
    await run(client, ctx, payload)
    # No subscription here: the handler's own error, private, and never a public placeholder.
    (callback,) = fake.posted(r".*/callback")
    assert callback["type"] == 4
    assert callback["data"]["flags"] & 64
    answer = shown(fake)
    assert answer.ephemeral
    assert answer.message is not None
    assert answer.message["embeds"][0]["title"] == "This channel has no subscription."
    assert fake.posted(r".*/webhooks/.*") == []  # nothing deleted, nothing followed up


async def test_a_member_allowed_by_an_integrations_override_runs_admin_commands(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    """Discord delivers an admin command only to members it allows (Manage Server by default,
    or a role a server admin granted in Server Settings → Integrations): no second check."""
    options = [{"name": "companies", "type": 3, "value": "nvidia"}]
    payload = interaction_payload(ADMIN_GROUP, "subscribe", options, permissions=0)
    await run(client, ctx, payload)
    answer = shown(fake)
    assert answer.message is not None
    assert answer.message["embeds"][0]["title"] == "Subscribed this channel"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"send_messages": True}, "Send Messages"),
        ({"embed_links": True, "attach_files": True}, "Embed Links, Attach Files"),
        ({"view_channel": True}, "View Channel"),
    ],
)
async def test_subscribe_refuses_a_channel_the_bot_cannot_post_in_and_names_why(
    fake: FakeDiscord,
    client: discord.Client,
    ctx: Context,
    missing: dict[str, bool],
    named: str,
) -> None:
    options = [{"name": "companies", "type": 3, "value": "nvidia"}]
    payload = interaction_payload(
        ADMIN_GROUP,
        "subscribe",
        options,
        permissions=MANAGE_GUILD,
        app_permissions=app_permissions(**missing),
    )
    await run(client, ctx, payload)
    answer = shown(fake)
    assert answer.ephemeral
    assert answer.message is not None
    title = answer.message["embeds"][0]["title"]
    assert title == f"I cannot post digests here: I lack {named} in this channel."
    assert await ctx.store.list_subscriptions() == []  # nothing subscribed


async def test_search_with_an_integer_option(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    options = [
        {"name": "query", "type": 3, "value": "Ascend"},
        {"name": "days", "type": 4, "value": 7},
    ]
    await run(client, ctx, interaction_payload(GROUP, "search", options))
    answer = shown(fake)
    assert answer.message is not None
    titles = [e["title"] for e in answer.message["embeds"]]
    assert titles == ["Search: Ascend in the last 7 days", "Huawei Ascend 910C ships in volume"]


async def test_admin_subscribes_with_renamed_and_float_options(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    options = [
        {"name": "companies", "type": 3, "value": "nvidia 华为"},
        {"name": "schedule", "type": 3, "value": "daily 09:30"},
        {"name": "min-relevance", "type": 10, "value": 0.5},
    ]
    payload = interaction_payload(ADMIN_GROUP, "subscribe", options, permissions=MANAGE_GUILD)
    await run(client, ctx, payload)
    answer = shown(fake)
    assert not answer.ephemeral
    assert answer.message is not None
    header = answer.message["embeds"][0]
    assert header["title"] == "Subscribed this channel"
    assert f"discord:{CHANNEL}" in header["description"]
    assert "Nvidia, Huawei" in header["description"]
    assert "0.50" in header["description"]


async def test_no_channel_means_a_private_error_not_a_none_target(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    payload = interaction_payload(ADMIN_GROUP, "unsubscribe", [], permissions=MANAGE_GUILD)
    del payload["channel"]
    await run(client, ctx, payload)
    answer = shown(fake)
    assert answer.ephemeral
    assert answer.message is not None
    assert answer.message["embeds"][0]["title"] == "I cannot tell which channel this is."


# slow replies: deferred first --------------------------------------------------------------


def make_slow(monkeypatch: pytest.MonkeyPatch, fake: FakeDiscord) -> None:
    """Every reply is slow: it is ready only once Discord has the defer (no clock involved)."""
    answer = discord_commands._dispatch

    async def after_the_defer(*args: Any) -> Reply:
        await fake.acknowledged.wait()
        return await answer(*args)

    monkeypatch.setattr(discord_commands, "DEFER_AFTER", 0)
    monkeypatch.setattr(discord_commands, "_dispatch", after_the_defer)


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch, fake: FakeDiscord) -> None:
    make_slow(monkeypatch, fake)


@pytest.fixture(params=["quick", "slow"])
def timing(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, fake: FakeDiscord
) -> str:
    """Both ways a reply reaches Discord: as the response, or as an edit after a defer."""
    if request.param == "slow":
        make_slow(monkeypatch, fake)
    return str(request.param)


async def test_a_slow_reply_is_deferred_then_edits_the_deferred_response(
    fake: FakeDiscord, client: discord.Client, ctx: Context, slow: None
) -> None:
    payload = interaction_payload(GROUP, "company", [{"name": "name", "type": 3, "value": "华为"}])
    await run(client, ctx, payload)
    (callback,) = fake.posted(r".*/callback")
    assert callback["type"] == 5
    assert not (callback.get("data") or {}).get("flags", 0) & 64
    (edit,) = fake.posted(rf".*/webhooks/{APP_ID}/{ITOKEN}/messages/@original")
    assert edit["allowed_mentions"] == {"parse": []}
    answer = shown(fake)
    assert not answer.thinking
    assert not answer.ephemeral
    assert answer.message is not None
    assert answer.message["embeds"][0]["title"] == "Huawei"
    assert answer.followups == []


def without_required_options() -> list[str]:
    return sorted(
        s.name for s in commands() if s.name in PRIVATE and not any(p.required for p in s.params)
    )


@pytest.mark.parametrize("command", without_required_options())
async def test_a_private_command_defers_privately(
    fake: FakeDiscord, client: discord.Client, ctx: Context, slow: None, command: str
) -> None:
    group = ADMIN_GROUP if command in {s.name for s in commands() if s.admin} else GROUP
    await run(client, ctx, interaction_payload(group, command, [], permissions=MANAGE_GUILD))
    (callback,) = fake.posted(r".*/callback")
    assert callback["type"] == 5
    assert callback["data"]["flags"] & 64
    answer = shown(fake)
    assert answer.ephemeral
    assert not answer.thinking


# failures after the defer: the deferred response always gets an answer ---------------------


async def test_a_malformed_embed_url_is_answered_with_discords_refusal(
    fake: FakeDiscord,
    client: discord.Client,
    ctx: Context,
    monkeypatch: pytest.MonkeyPatch,
    slow: None,
) -> None:
    card = Card(title="Hostless", url="https:///no-host", body="")
    answer_with(monkeypatch, Reply(title="Latest", cards=(card,)))
    await run(client, ctx, company_payload())
    first, second = fake.posted(rf".*/webhooks/{APP_ID}/{ITOKEN}/messages/@original")
    assert first["embeds"][1]["url"] == "https:///no-host"  # refused: 400, 50035
    answer = shown(fake)
    assert not answer.thinking
    assert answer.message is not None
    assert answer.message == second
    title = second["embeds"][0]["title"]
    assert title.startswith("Discord refused this reply \\(Invalid Form Body")
    assert "Not a well formed URL" in title


async def test_an_upload_discord_refuses_as_too_large_is_answered_not_left_thinking(
    fake: FakeDiscord,
    client: discord.Client,
    ctx: Context,
    monkeypatch: pytest.MonkeyPatch,
    slow: None,
) -> None:
    answer_with(monkeypatch, Reply(title="Trend", lines=("up",), attachment=chart()))
    fake.upload_limit = len(PNG) - 1  # Discord's limit is below what the interaction said
    await run(client, ctx, company_payload())
    answer = shown(fake)
    assert not answer.thinking
    assert answer.message is not None
    assert answer.message["embeds"][0]["title"] == (
        "Discord refused this reply: its chart is larger than this server's upload limit."
    )
    assert answer.message["attachments"] == []


async def test_a_quick_reply_discord_refuses_is_answered_with_the_refusal(
    fake: FakeDiscord, client: discord.Client, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = Card(title="Hostless", url="https:///no-host", body="")
    answer_with(monkeypatch, Reply(title="Latest", cards=(card,)))
    await run(client, ctx, company_payload())
    refused, answered = fake.posted(r".*/callback")
    assert refused["type"] == answered["type"] == 4
    answer = shown(fake)
    assert answer.ephemeral
    assert answer.message is not None
    assert "Not a well formed URL" in answer.message["embeds"][0]["title"]


async def test_an_unsynced_command_is_answered_by_the_trees_error_handler(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    """Discord sends options this code does not declare (commands not synced since an
    upgrade): discord.py raises before our callback runs; the tree's handler answers."""
    options = [{"name": "no-such-option", "type": 3, "value": "x"}]
    await run(client, ctx, interaction_payload(GROUP, "company", options))
    answer = shown(fake)
    assert answer.ephemeral
    assert answer.message is not None
    assert answer.message["embeds"][0]["title"] == GENERIC_ERROR


async def test_company_autocomplete_answers_with_catalog_choices(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    options = [{"name": "name", "type": 3, "value": "hua", "focused": True}]
    await run(client, ctx, interaction_payload(GROUP, "company", options, kind=4))
    (callback,) = fake.posted(r".*/callback")
    assert callback["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    choices = callback["data"]["choices"]
    assert {"name": "Huawei", "value": "huawei"} in choices
    assert len(choices) <= 25


@pytest.mark.parametrize(
    ("command", "option", "typed", "expected"),
    [
        ("latest", "company", "Ant Gro", {"name": "Ant Group", "value": "ant-group"}),
        ("latest", "company", "SK hyn", {"name": "SK hynix", "value": "sk-hynix"}),
        (
            "latest",
            "company",
            "Samsung Electroni",
            {"name": "Samsung Electronics", "value": "samsung"},
        ),
        (
            "trend",
            "companies",
            "nvidia SK hyn",
            {"name": "nvidia SK hynix", "value": "nvidia sk-hynix"},
        ),
    ],
)
async def test_company_autocomplete_completes_whole_names(
    fake: FakeDiscord,
    client: discord.Client,
    ctx: Context,
    command: str,
    option: str,
    typed: str,
    expected: dict[str, str],
) -> None:
    options = [{"name": option, "type": 3, "value": typed, "focused": True}]
    await run(client, ctx, interaction_payload(GROUP, command, options, kind=4))
    (callback,) = fake.posted(r".*/callback")
    assert callback["data"]["choices"][0] == expected


async def test_a_numeric_ticker_in_the_company_option_is_a_company(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    payload = interaction_payload(
        GROUP, "latest", [{"name": "company", "type": 3, "value": "2330"}]
    )
    await run(client, ctx, payload)
    answer = shown(fake)
    assert answer.message is not None
    title = answer.message["embeds"][0]["title"]
    assert "TSMC" in title
    assert "count" not in title


async def test_typed_options_reach_the_handler_as_typed_values(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    options = [
        {"name": "company", "type": 3, "value": "Huawei Technologies"},
        {"name": "count", "type": 4, "value": 1},
    ]
    await run(client, ctx, interaction_payload(GROUP, "latest", options))
    answer = shown(fake)
    assert answer.message is not None
    titles = [e["title"] for e in answer.message["embeds"]]
    assert titles == [r"Latest AI\-chip news on Huawei", "Huawei Ascend 910C ships in volume"]


async def test_an_integer_option_out_of_its_range_is_a_private_usage_error(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    # Discord's client enforces min_value/max_value; another client may not: the binder does too.
    options = [{"name": "count", "type": 4, "value": 50}]
    await run(client, ctx, interaction_payload(GROUP, "latest", options))
    answer = shown(fake)
    assert answer.ephemeral
    assert answer.message is not None
    header = answer.message["embeds"][0]
    assert header["title"] == "count must be a whole number from 1 to 20, not '50'."
    assert r"usage: latest \[company\] \[count\]" in header["description"]  # escaped markdown


async def test_sync_registers_both_groups(fake: FakeDiscord) -> None:
    count = await sync_commands(TOKEN, int(GUILD), api_base=fake.base)
    assert count == 2
    (body,) = fake.posted(rf".*/applications/{APP_ID}/guilds/{GUILD}/commands")
    assert {cmd["name"] for cmd in body} == {GROUP, ADMIN_GROUP}


# charts --------------------------------------------------------------------------------------


def answer_with(monkeypatch: pytest.MonkeyPatch, reply: Reply) -> list[Command]:
    """The adapter's dispatch answers `reply` (the trend command is not in the table yet)."""
    seen: list[Command] = []

    async def dispatch(_: Context, command: Command) -> Reply:
        seen.append(command)
        return reply

    monkeypatch.setattr("bot.platforms.discord.commands.dispatch", dispatch)
    return seen


def company_payload() -> dict[str, Any]:
    return interaction_payload(GROUP, "company", [{"name": "name", "type": 3, "value": "nvidia"}])


async def test_a_chart_is_a_file_in_the_answer_shown_inside_the_embed(
    fake: FakeDiscord,
    client: discord.Client,
    ctx: Context,
    monkeypatch: pytest.MonkeyPatch,
    timing: str,
) -> None:
    attached = chart()
    seen = answer_with(
        monkeypatch, Reply(title="Trend: Nvidia", lines=("up 20%",), attachment=attached)
    )
    await run(client, ctx, company_payload())

    assert [c.name for c in seen] == ["company"]
    (callback,) = fake.posted(r".*/callback")
    assert callback["type"] == (5 if timing == "slow" else 4)
    answer = shown(fake)
    assert not answer.ephemeral
    assert answer.message is not None
    message = answer.message
    assert message["embeds"][0]["title"] == "Trend: Nvidia"
    assert message["embeds"][0]["image"] == {"url": f"attachment://{attached.filename}"}
    assert message["attachments"] == [
        {"id": 0, "filename": attached.filename, "description": attached.description}
    ]
    assert message["allowed_mentions"] == {"parse": []}
    assert fake.uploads == [Upload("files[0]", attached.filename, PNG)]


async def test_a_private_chart_stays_private(
    fake: FakeDiscord, client: discord.Client, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_with(monkeypatch, Reply(title="Mine", ephemeral=True, attachment=chart()))
    await run(client, ctx, company_payload())
    answer = shown(fake)
    assert answer.ephemeral
    assert [u.filename for u in fake.uploads] == [chart().filename]
    assert fake.posted(r".*/webhooks/.*") == []  # never a public placeholder to remove


async def test_an_odd_filename_is_made_one_the_embed_can_refer_to(
    fake: FakeDiscord,
    client: discord.Client,
    ctx: Context,
    monkeypatch: pytest.MonkeyPatch,
    timing: str,
) -> None:
    answer_with(monkeypatch, Reply(title="Trend", attachment=chart("../trend 华为.png")))
    await run(client, ctx, company_payload())
    answer = shown(fake)
    [(_, name, data)] = [(u.field, u.filename, u.data) for u in fake.uploads]
    assert name == "_trend___.png"
    assert data == PNG
    assert answer.message is not None
    assert answer.message["embeds"][0]["image"]["url"] == f"attachment://{name}"


async def test_a_chart_over_the_upload_limit_is_left_out_and_the_reply_says_so(
    fake: FakeDiscord,
    client: discord.Client,
    ctx: Context,
    monkeypatch: pytest.MonkeyPatch,
    timing: str,
) -> None:
    answer_with(monkeypatch, Reply(title="Trend", lines=("up",), attachment=chart()))
    payload = company_payload()
    payload["attachment_size_limit"] = len(PNG) - 1  # Discord tells each interaction its limit
    await run(client, ctx, payload)
    answer = shown(fake)
    assert answer.message is not None
    assert fake.uploads == []
    assert not answer.message.get("attachments")
    header = answer.message["embeds"][0]
    assert "image" not in header
    assert header["description"] == "The chart was too large to attach.\nup"


# embeds --------------------------------------------------------------------------------------


def _size(embed: dict[str, Any]) -> int:
    fields = embed.get("fields", [])
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
    )


def test_reply_embeds_stay_within_discord_limits_and_escape_feed_text() -> None:
    long = (HOSTILE_TITLE + " ") * 40
    card = Card(
        title=long,
        url="https://evil.example/a (b)",
        body=(HOSTILE_SUMMARY + " ") * 40,
        fields=tuple((f"f{n} {HOSTILE_TITLE}", long) for n in range(30)),
    )
    reply = Reply(title=long, lines=tuple([long] * 60), cards=(card,) * 12)
    embeds: list[dict[str, Any]] = [dict(e.to_dict()) for e in reply_embeds(reply)]
    assert 1 <= len(embeds) <= 10
    assert sum(_size(e) for e in embeds) <= 6000
    for embed in embeds:
        assert len(embed.get("title", "")) <= 256
        assert len(embed.get("description", "")) <= 4096
        assert len(embed.get("fields", [])) <= 25
        for item in embed.get("fields", []):
            assert 1 <= len(item["name"]) <= 256
            assert 1 <= len(item["value"]) <= 1024
        text = " ".join([embed.get("title", ""), embed.get("description", "")])
        assert "@everyone" not in text
        assert "@here" not in text
        assert "[click here](" not in text
    assert "more not shown" in embeds[0]["description"]
    assert "more lines" in embeds[0]["description"]


def test_one_long_line_is_shortened_not_dropped() -> None:
    (embed,) = reply_embeds(Reply(title="Feeds", lines=("x" * 9000,)))
    assert embed.description is not None
    assert 4000 < len(embed.description) <= 4096


def test_short_reply_is_one_embed_per_card() -> None:
    cards = tuple(Card(title=f"Story {n}", url=None, body="", fields=()) for n in range(3))
    embeds = reply_embeds(Reply(title="Latest", cards=cards))
    assert [e.title for e in embeds] == ["Latest", "Story 0", "Story 1", "Story 2"]
    error = reply_embeds(Reply(title="Nope", lines=("do this",), ephemeral=True, error=True))
    assert len(error) == 1
    assert error[0].description == "do this"


async def test_the_trend_command_attaches_its_real_chart(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    options = [
        {"name": "companies", "type": 3, "value": "huawei NVDA"},
        {"name": "days", "type": 4, "value": 7},
    ]
    await run(client, ctx, interaction_payload(GROUP, "trend", options))
    answer = shown(fake)
    assert answer.message is not None
    embed = answer.message["embeds"][0]
    assert embed["title"] == "Nvidia and Huawei: relevant stories per day, last 7 days"
    assert embed["image"] == {"url": "attachment://trend-nvidia-huawei-7d.png"}
    [(field, filename, data)] = [(u.field, u.filename, u.data) for u in fake.uploads]
    assert (field, filename) == ("files[0]", "trend-nvidia-huawei-7d.png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1200, 675)


# times ---------------------------------------------------------------------------------------


async def test_times_in_replies_are_discord_timestamps(
    fake: FakeDiscord, client: discord.Client, ctx: Context
) -> None:
    """Discord shows `<t:unix:f>` to each reader in their own zone and locale."""
    options = [{"name": "company", "type": 3, "value": "huawei"}]
    await run(client, ctx, interaction_payload(GROUP, "latest", options))
    answer = shown(fake)
    assert answer.message is not None
    published = {
        embed["title"]: field["value"]
        for embed in answer.message["embeds"][1:]
        for field in embed.get("fields", [])
        if field["name"] == "published"
    }
    assert published["Huawei Ascend 910C ships in volume"] == f"<t:{int(ago(1).timestamp())}:f>"
    assert published["Huawei CloudMatrix 384 racks"] == f"<t:{int(ago(2).timestamp())}:f>"


def test_a_line_with_a_moment_keeps_its_text_escaped_and_the_time_a_timestamp() -> None:
    line = Phrase("#3 *nvidia*; next ", Moment(NOW, "Fri 20 Nov 12:00 UTC"), " (daily)")
    (embed,) = reply_embeds(Reply(title="Subscriptions", lines=(line,)))
    stamp = f"<t:{int(NOW.timestamp())}:f>"
    assert embed.description == f"\\#3 \\*nvidia\\*; next {stamp} \\(daily\\)"
    # Where the timestamp form does not fit, the text is cut as it reads elsewhere.
    assert inline_markdown(line, 16) == "\\#3 \\*nvidia\\*…"
