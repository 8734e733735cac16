#!/usr/bin/env python3
# Writes the committed seed corpus under fuzz/corpus/<target>/: realistic Slack bodies (Slack's
# published signing example, /poster commands with curly quotes, em and en dashes, Slack's
# &amp; escaping, mentions, emoji codes, CJK), a few broken ones, and block_actions payloads.
# Standard library only. Run from anywhere: python3 fuzz/make-seeds.py
import hashlib
import hmac
import json
import pathlib
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"
SECRET = b"8f742231b10e8888abcd99yyyzzz85a5"  # Slack's published example secret
NOW = 1531420618  # and its timestamp; the verify_form target's clock
SLACK_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)


def sign(ts, body):
    mac = hmac.new(SECRET, b"v0:%d:" % ts + body, hashlib.sha256)
    return "v0=" + mac.hexdigest()


def form(text, **extra):
    fields = [
        ("token", "xyzz0WbapA4vBCDEFasx0q6G"), ("team_id", "T1DC2JH3J"),
        ("team_domain", "acme"), ("channel_id", "C0POSTERS"), ("channel_name", "posters"),
        ("user_id", "U2CERLKJA"), ("user_name", "ada"), ("command", "/poster"), ("text", text),
        ("api_app_id", "A0MARQUEE"), ("is_enterprise_install", "false"),
        ("response_url", "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"),
        ("trigger_id", "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"),
    ]
    fields += list(extra.items())
    return urllib.parse.urlencode(fields).encode()


def request(ts, sig, body):
    return str(ts).encode() + b"\n" + sig.encode() + b"\n" + body


def write(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


TEXTS = {
    "kraken": "a lighthouse keeper fights a kraken, 1950s pulp",
    "curly": "a detective — alone in the rain —title “The Long Night” –tagline ‘Nobody sleeps’ —style Noir",
    "every-flag": "a detective in the rain --title \"The Long Night\" --tagline 'Nobody sleeps' "
    "--credits \"Directed by Ada Park\" --style noir --ar 16:9 --seed 42 --no \"colour, text\" --model nova",
    "escaped": "Tom &amp; Jerry &lt;3 <@U123ABC> :rocket: 東京の夜 café --title “Ça va?”",
    "equals": "--style=western a lone rider --title The   Last Ride --seed=7 dusty town",
    "apostrophes": "don't look back, it's 'the end' of the world's last day",
    "unclosed": "a cat --title \"unclosed",
    "help": "help",
    "big-seed": "a cat --model sd3.5 --seed 4294967294",
}

# verify_form: `<timestamp>\n<signature>\n<body>`.
write("verify_form", "slack-published-example", request(NOW, sign(NOW, SLACK_BODY.encode()), SLACK_BODY.encode()))
for name, text in TEXTS.items():
    body = form(text)
    write("verify_form", f"poster-{name}", request(NOW, sign(NOW, body), body))
body = form(TEXTS["curly"])
tampered = body.replace(b"kraken", b"krakem").replace(b"rain", b"raim")
write("verify_form", "tampered-body", request(NOW, sign(NOW, body), tampered))
write("verify_form", "stale", request(NOW - 301, sign(NOW - 301, body), body))
write("verify_form", "uppercase-signature", request(NOW, sign(NOW, body).upper().replace("V0=", "v0="), body))
dup = form("a cat", user_id="U0SOMEONEELSE")
write("verify_form", "duplicate-user-id", request(NOW, sign(NOW, dup), dup))
write("verify_form", "no-headers", form("a cat"))

# parse_command: one policy byte (bit i allows ModelId::ALL[i]), then the text.
for i, (name, text) in enumerate(TEXTS.items()):
    policy = [0x01, 0x1F, 0x11, 0x03, 0x05][i % 5]
    write("parse_command", name, bytes([policy]) + text.encode())

# interaction: `payload=<json>`, as Slack posts it.
def payload(obj):
    return urllib.parse.urlencode([("payload", json.dumps(obj, ensure_ascii=False))]).encode()

block_actions = {
    "type": "block_actions",
    "user": {"id": "U2CERLKJA", "username": "ada", "name": "ada", "team_id": "T1DC2JH3J"},
    "api_app_id": "A0MARQUEE",
    "token": "xyzz0WbapA4vBCDEFasx0q6G",
    "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0POSTERS", "is_ephemeral": False},
    "trigger_id": "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
    "team": {"id": "T1DC2JH3J", "domain": "acme"},
    "channel": {"id": "C0POSTERS", "name": "posters"},
    "message": {"type": "message", "ts": "1700000000.000100", "text": "“The Keeper” — a poster", "blocks": []},
    "response_url": "https://hooks.slack.com/actions/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",
    "actions": [{
        "action_id": "regenerate", "block_id": "poster-actions", "type": "button",
        "text": {"type": "plain_text", "text": "Try again — new seed", "emoji": True},
        "value": "{\"prompt\":\"a lighthouse keeper fights a kraken –style horror\",\"seed\":7}",
        "action_ts": "1700000001.123456",
    }],
}
write("interaction", "block-actions-regenerate", payload(block_actions))
no_container = dict(block_actions)
del no_container["container"]
no_container["actions"] = [dict(block_actions["actions"][0], action_id="share", value="“share” it")]
write("interaction", "block-actions-channel-only", payload(no_container))
write("interaction", "view-submission", payload({"type": "view_submission", "user": {"id": "U1"}, "view": {"id": "V1"}}))
write("interaction", "not-json", b"payload=%7Bnot+json")
write("interaction", "no-payload", b"token=x&type=block_actions")
