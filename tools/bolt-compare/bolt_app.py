"""The alternative Marquee is measured against: a Slack Bolt for Python app on AWS Lambda.

This is what a team builds today for `/poster`: Bolt verifies the signature, parses the form,
a small parser reads the `/poster` flags, and the ack returns an ephemeral "Generating…"
message at once, while a lazy listener does the work in a second, asynchronous invocation of
the same function (Bolt's documented pattern for Lambda, `process_before_response=True`).
Run by `awslambdaric` as `bolt_app.handler`; used only by harness.py.
"""

import os
import re

from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult

STYLES = {"noir", "horror", "western", "scifi", "romance", "thriller", "comedy", "fantasy", "documentary"}
ASPECTS = {"2:3", "1:1", "4:5", "16:9", "9:16", "3:2", "5:4", "21:9", "9:21"}
FLAG = re.compile(r"(?:--|[—–]-?)([a-z][a-z-]*)=?\s*(“[^”]*”|\"[^\"]*\"|'[^']*'|‘[^’]*’|[^\s—–-][^\s]*)?", re.I)


def authorize(enterprise_id, team_id, logger):
    # A fixed installation: no Slack API call (auth.test) on this machine.
    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-offline",
                           bot_id="B0MARQUEE", bot_user_id="U0MARQUEE")


app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    authorize=authorize,
    process_before_response=True,
)


def parse(text):
    """Reads `/poster` text: a description and --flags, as Marquee accepts them."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    flags = {}
    for m in FLAG.finditer(text):
        flags[m.group(1).lower()] = (m.group(2) or "").strip("“”\"'‘’")
    description = FLAG.sub("", text).strip()
    if not description:
        return None, "describe the poster before the options"
    if "style" in flags and flags["style"].lower() not in STYLES:
        return None, f"there is no style called `{flags['style']}`"
    if "ar" in flags and flags["ar"] not in ASPECTS:
        return None, f"`{flags['ar']}` is not a supported aspect ratio"
    return {"description": description, **flags}, None


def ack_poster(ack, command):
    spec, error = parse(command.get("text", ""))
    if error:
        ack({"response_type": "ephemeral", "text": error})
        return
    ack({"response_type": "ephemeral",
         "text": f"Generating your poster: {spec['description'][:80]}…"})


def generate(command, respond):
    # The worker half runs in the asynchronous invocation; the harness does not run it.
    respond({"response_type": "in_channel", "text": "done"})


app.command("/poster")(ack=ack_poster, lazy=[generate])


def handler(event, context):
    return SlackRequestHandler(app=app).handle(event, context)
