"""Issue 13: names that are ordinary words, subjects versus mentions, relevance from evidence."""

from __future__ import annotations

import pytest

from bot.classify.catalog import load_catalog
from bot.classify.classifier import Classifier
from bot.models import ABOUT, MENTIONED


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_catalog(load_catalog())


@pytest.mark.parametrize(
    ("title", "summary", "company"),
    [
        (
            "House Intel Chair says the briefing was alarming",
            "The chairman spoke to reporters.",
            "intel",
        ),
        ("Senate Intel Committee releases report on election interference", "", "intel"),
        ("Crucial vote on the budget delayed until Friday", "Lawmakers could not agree.", "micron"),
        ("Woman dies after getting arm stuck in donation box", "", "arm"),
        (
            "Alexa Ray Joel opens up about life on tour",
            "The singer spoke about her father.",
            "amazon",
        ),
        ("Xiang Bing named dean of the business school", "", "microsoft"),
        ("Bing Crosby's White Christmas tops the charts again", "", "microsoft"),
        ("Meta del viaggio: la Sicilia in primavera", "", "meta"),
        ("Apple harvest hit by late frost", "Growers expect a smaller crop.", "apple"),
    ],
)
def test_a_name_that_is_an_ordinary_word_or_a_persons_name_is_no_company(
    classifier: Classifier, title: str, summary: str, company: str
) -> None:
    got = classifier.classify(title, summary)
    assert company not in {c for c, _ in got.mentions}, got.why


@pytest.mark.parametrize(
    ("title", "summary", "company"),
    [
        ("Intel to cut 15% of workforce", "The chipmaker is struggling in AI processors.", "intel"),
        ("Intel Corp shares jump after foundry deal", "", "intel"),
        ("Micron to exit Crucial consumer memory business", "", "micron"),
        ("Arm unveils Neoverse cores for AI data centers", "", "arm"),
        ("Apple's motion to vacate the FBI order", "", "apple"),
        ("Microsoft's Bing adds AI answers", "", "microsoft"),
    ],
)
def test_the_same_names_with_company_evidence_are_the_company(
    classifier: Classifier, title: str, summary: str, company: str
) -> None:
    got = classifier.classify(title, summary)
    assert company in got.companies, got.why


def test_a_product_or_venue_mention_is_not_the_subject(classifier: Classifier) -> None:
    berry = classifier.classify(
        "Chuck Berry, rock'n'roll pioneer, dies at 90",
        "His family posted on Facebook that he died at home.",
    )
    assert berry.companies == ()
    assert ("meta", MENTIONED) in berry.mentions
    blender = classifier.classify("This blender is a top seller on Amazon", "")
    assert blender.companies == ()
    assert blender.mentions == (("amazon", MENTIONED),)


def test_salience_reads_title_lead_comparison_and_recurrence(classifier: Classifier) -> None:
    got = classifier.classify(
        "Apple's AR is closer to reality than Google's",
        "Developers compare the two toolkits.",
    )
    assert got.mentions == (("apple", ABOUT), ("google", MENTIONED))
    lead = classifier.classify(
        "A new AI supercomputer comes online",
        "Nvidia supplied the GPUs, the operator said. Microsoft is a customer.",
    )
    assert dict(lead.mentions) == {"nvidia": ABOUT, "microsoft": MENTIONED}
    recurring = classifier.classify(
        "Chip stocks: the week in review",
        "Markets were calm. Analysts expect more. Nvidia rose. Nvidia guided up. Nvidia won.",
    )
    assert dict(recurring.mentions)["nvidia"] == ABOUT


def test_a_name_named_twice_in_a_summary_is_a_subject_once_in_passing_is_not(
    classifier: Classifier,
) -> None:
    lead = "The judge ruled on Monday after a long hearing."
    twice = classifier.classify("Court filings", f"{lead} Nvidia will appeal; Nvidia shares fell.")
    assert dict(twice.mentions)["nvidia"] == ABOUT
    once = classifier.classify("Court filings", f"{lead} Lawyers said Nvidia was told to comply.")
    assert dict(once.mentions)["nvidia"] == MENTIONED
    filler = " The hearing went on." * 35  # past the first 600 characters twice is not enough
    late = classifier.classify("Court filings", f"{lead}{filler} Nvidia will appeal; Nvidia fell.")
    assert dict(late.mentions)["nvidia"] == MENTIONED
    thrice = f"{lead}{filler} Nvidia will appeal; Nvidia fell; Nvidia said more."
    assert dict(classifier.classify("Court filings", thrice).mentions)["nvidia"] == ABOUT
    longer = f"{lead}{filler * 2} Nvidia will appeal; Nvidia fell; Nvidia said more."
    assert dict(classifier.classify("Court filings", longer).mentions)["nvidia"] == MENTIONED


def test_a_product_in_a_title_that_names_another_company_is_a_mention(
    classifier: Classifier,
) -> None:
    got = classifier.classify("Google Docs updates add support for the iPhone X", "")
    assert dict(got.mentions) == {"google": ABOUT, "apple": MENTIONED}
    alone = classifier.classify("The iPhone X review: a week later", "")
    assert alone.companies == ("apple",)


def test_without_a_title_the_first_sentence_stands_for_it(classifier: Classifier) -> None:
    first = "After a long and quiet week the chip designer Nvidia guided its revenue up."
    got = classifier.classify("", f"{first} Analysts cheered the call.")
    assert got.companies == ("nvidia",)
    later = classifier.classify("", "Analysts cheered the call. Later, Microsoft said little.")
    assert later.companies == ()


def test_punctuation_between_a_form_and_a_capitalised_word_makes_no_persons_name(
    classifier: Classifier,
) -> None:
    got = classifier.classify(
        "The encryption fight",
        "Between the FBI and Apple, Bill Gates took a side, investors said.",
    )
    assert "apple" in dict(got.mentions), got.why
    name = classifier.classify("Portrait", "Fans of Alexa Ray Joel queued outside the venue.")
    assert "amazon" not in dict(name.mentions)


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Trump presidency week two: foot still on accelerator", "More executive orders."),
        ("Council rolls out new wheelie bins", "The manufacturing process uses recycled plastic."),
        ("Fish and chips shop wins national award", "The family business has fried since 1952."),
        ("Casino chips worth $1m stolen in Las Vegas heist", "Police are searching for two men."),
        ("Driver's foot stuck on accelerator caused crash", "The car hit a wall."),
        ("Nvidia chief Jensen Huang visits a Taipei night market", "Fans lined up for selfies."),
    ],
)
def test_one_kind_of_evidence_does_not_make_ai_chip_news(
    classifier: Classifier, title: str, summary: str
) -> None:
    got = classifier.classify(title, summary)
    assert not got.relevant, got.why


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Nvidia stock rises 3% on Monday", "Shares of the AI chipmaker climbed."),
        ("Samsung starts HBM4 mass production for Nvidia", "The memory ships in Rubin GPUs."),
        ("TSMC says 2nm production is on track", "The foundry expects AI demand to stay strong."),
        ("US tightens export rules on AI chips", ""),
    ],
)
def test_independent_evidence_makes_ai_chip_news(
    classifier: Classifier, title: str, summary: str
) -> None:
    got = classifier.classify(title, summary)
    assert got.relevant, got.why


def test_why_says_when_one_kind_of_evidence_was_not_enough(classifier: Classifier) -> None:
    got = classifier.classify("Trump presidency week two: foot still on accelerator", "")
    assert got.score >= classifier.threshold
    assert not got.relevant
    assert any(rule.startswith("one kind of evidence only") for rule in got.why)


def test_a_weak_name_capitalised_twice_inside_sentences_is_the_company(
    classifier: Classifier,
) -> None:
    court = classifier.classify(
        "The precedent in the encryption case",
        "The order to Apple is not a subpoena. Polls show more support for Apple than expected.",
    )
    assert "apple" in dict(court.mentions), court.why
    once = classifier.classify("The precedent", "The order to Apple is not a subpoena.")
    assert "apple" not in dict(once.mentions)
    fruit = classifier.classify("Orchards", "The Apple harvest is late. Apple growers worry.")
    assert "apple" not in dict(fruit.mentions)  # capitalised only where sentences start
    singer = classifier.classify(
        "On tour", "Fans of Alexa Ray Joel queued. They said Alexa sang and later met Alexa fans."
    )
    assert "amazon" not in dict(singer.mentions)  # once a person's name, never the company
