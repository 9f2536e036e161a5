"""Is this HTML page a bot-protection challenge? Pure; reads only the first bytes of a body.

Sites behind a web application firewall answer a fetcher with a page that asks a browser to run
JavaScript or solve a captcha, with 200, 403, 429 or 503. Telling it apart from an ordinary web
page lets `feeds list` say what to try: a feed behind such a wall will not work from a server.
"""

from __future__ import annotations

HEAD_BYTES = 64 * 1024

# (who, markers): lower-case byte strings their challenge pages carry
_MARKERS: tuple[tuple[str, tuple[bytes, ...]], ...] = (
    (
        "Cloudflare",
        (b"cf-chl", b"challenge-platform", b"cf-browser-verification", b"cf_chl_opt"),
    ),
    ("Cloudflare", (b"<title>just a moment...</title>", b"attention required! | cloudflare")),
    ("DataDome", (b"captcha-delivery.com", b"datadome")),
    ("Imperva Incapsula", (b"_incapsula_resource", b"incapsula incident")),
    ("PerimeterX", (b"px-captcha", b"perimeterx")),
    ("Sucuri", (b"sucuri website firewall", b"sucuri_cloudproxy")),
    ("Alibaba Cloud WAF", (b"aliyun_waf", b"acw_sc__v2", b"_waf_bd8ce2ce37", b"aliyunwaf")),
    ("Akamai", (b"reference&#32;&#35;", b"akamai")),
    ("a captcha", (b"g-recaptcha", b"h-captcha", b"hcaptcha.com", b"captcha")),
)


def challenge_of(body: bytes | None) -> str | None:
    """Who is challenging ("Cloudflare", "a captcha" …), or None for an ordinary answer."""
    if not body:
        return None
    head = body[:HEAD_BYTES].lower()
    if b"<html" not in head and b"<!doctype html" not in head:
        return None
    for who, markers in _MARKERS:
        if any(marker in head for marker in markers):
            return who
    return None


def rejection_text(body: bytes, rejected: Exception) -> str:
    """Why a fetched document was not read (a FeedRejected), naming the bot protection when
    the HTML page was a challenge."""
    reason = str(rejected)
    who = challenge_of(body) if "HTML page" in reason else None
    if who:
        return f"not parsed: a bot challenge page ({who}), not a feed"
    return f"not parsed: {reason}"
