"""Words handed over from a shell (CLI) survive the trip through the chat command line."""

from hypothesis import given
from hypothesis import strategies as st

from bot.commands.messages import join_words, parse_command_line

word = st.text(
    alphabet=st.characters(blacklist_characters='"“”„«»', blacklist_categories=("Cc", "Cs")),
    min_size=1,
).filter(lambda w: w.strip() == w and w.strip())


def test_non_ascii_and_apostrophes_are_not_quoted_into_the_words() -> None:
    assert parse_command_line(join_words(["trend", "NVDA", "华为", "Nvidia's"])) == (
        "trend",
        ("NVDA", "华为", "Nvidia's"),
    )


def test_a_phrase_stays_one_word() -> None:
    assert parse_command_line(join_words(["company", "ant group"])) == ("company", ("ant group",))


@given(st.lists(word, min_size=1, max_size=5))
def test_join_then_parse_gives_the_words_back(words: list[str]) -> None:
    name, args = parse_command_line(join_words(words))
    assert (name, args) == (words[0].lower(), tuple(words[1:]))
