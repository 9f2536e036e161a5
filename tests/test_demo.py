"""`chipwire demo`: offline, end to end, on the bundled sample feeds."""

import subprocess
import sys


def test_demo_runs_the_whole_pipeline_offline_and_ends_with_a_digest() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    first, rest = out.split("2. second poll", 1)
    second, rest = rest.split("3. what is stored", 1)
    stored, rest = rest.split("4. the digest", 1)
    digest, answer = rest.split("5. a chat command", 1)
    assert "Huawei" in answer
    assert "mentions" in answer.lower()
    assert "6 ok (0 unchanged), 0 failed" in first
    assert "6 ok (6 unchanged), 0 failed" in second
    assert sum(line.startswith("304 ") for line in second.splitlines()) == 6
    # the Italian story this product began with is stored, tagged and relevant
    ant = [line for line in stored.splitlines() if "Ant Group addestra" in line]
    assert ant
    assert "[AI-chip]" in ant[0]
    assert "ant-group" in ant[0]
    assert "huawei" not in ant[0]  # named in passing in the body: a mention, not a subject
    # traps are stored but not relevant
    cookies = [line for line in stored.splitlines() if "chocolate-chip" in line]
    assert cookies
    assert "[other" in cookies[0]
    assert "Top stories" in digest
    # the H20 export story reaches the digest once, with its sources from several feeds
    assert digest.count("H20") >= 1
    # issue 13: one event told in several languages is one story, not one per language
    stories = [line for line in digest.splitlines() if line.startswith("• ")]
    assert sum("Ant Group" in s or "蚂蚁" in s for s in stories) == 1
    assert sum("TSMC" in s or "台积电" in s for s in stories) == 1
    # the aggregator's items are the publishers': named, no " - Publisher" suffix, no feed name
    assert "1 source: Tokyo Silicon Review" in digest
    assert "Google News" not in digest
    assert "Gaudi 3 cloud instances in Frankfurt and Tokyo |" not in digest
    assert "@everyone" not in digest.replace("@\u200beveryone", "")
