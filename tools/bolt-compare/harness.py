#!/usr/bin/env python3
"""Cold start and ack latency of two Slack apps as AWS Lambda functions, through one harness.

Run through scripts/bench-compare.sh (which installs the tools and builds the Rust binary);
directly: `python harness.py --rust target/release/marquee-lambda --python .tools/venv-bench/bin/python`.

The harness is a Lambda Runtime API stand-in on 127.0.0.1 (the 2018-06-01 API that AWS's runtime
clients poll: `GET /runtime/invocation/next`, `POST /runtime/invocation/{id}/response`). Both
functions are started exactly as Lambda starts them — a process with AWS_LAMBDA_RUNTIME_API set
— and get the same API Gateway v2 events carrying the same signed `/poster` slash commands:
  - marquee: the `marquee-lambda` release binary (lambda_runtime);
  - bolt:    a Slack Bolt for Python app with a lazy listener, run by AWS's Python runtime
             interface client `awslambdaric` (bolt_app.py).
The same server also answers Lambda's Invoke API with 202 (an `Event` invocation accepted), so
both apps really make their asynchronous self-invocation (Marquee's dispatch, Bolt's lazy
listener through boto3) through AWS_ENDPOINT_URL_LAMBDA; the worker half is not run.

Measured per round, the two functions alternating so shared-machine noise hits both alike:
  cold start = process exec -> the first ack's response posted to the Runtime API;
  warm ack   = event made available -> its response posted (includes the runtime client's
               long-poll hand-off, as in Lambda);
  peak RSS   = VmHWM of the function process after the warm acks.
Every response must be HTTP 200 with an ephemeral "Generating…" message, or the run fails.
Only 127.0.0.1 is contacted; every wait is bounded.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "bench-signing-secret-0123456789abcdef"
TEXTS = [
    "a lighthouse keeper fights a kraken, 1950s pulp",
    "a detective in the rain --title \"The Long Night\" --tagline 'Nobody sleeps' --style noir --ar 16:9 --seed 42",
    "a detective — alone in the rain —title “The Long Night” –tagline ‘Nobody sleeps’ —style Noir",
    "Tom &amp; Jerry &lt;3 <@U123ABC> :rocket: 東京の夜 café --title “Ça va?”",
]
WAIT = 30.0  # seconds: the longest any single step may take before the run fails


def slash_event(i):
    """An API Gateway v2 (function URL) event carrying a signed /poster slash command."""
    body = urllib.parse.urlencode([
        ("token", "x"), ("team_id", "T1"), ("team_domain", "acme"), ("channel_id", "C1"),
        ("channel_name", "posters"), ("user_id", "U1"), ("user_name", "ada"),
        ("command", "/poster"), ("text", TEXTS[i % len(TEXTS)]), ("api_app_id", "A1"),
        ("response_url", f"https://hooks.slack.com/commands/T1/{i}/{uuid.uuid4().hex}"),
        ("trigger_id", "1.2.3"),
    ]).encode()
    ts = int(time.time())
    sig = "v0=" + hmac.new(SECRET.encode(), b"v0:%d:" % ts + body, hashlib.sha256).hexdigest()
    now_ms = int(time.time() * 1000)
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": "/slack/commands", "rawQueryString": "",
        "headers": {
            "content-type": "application/x-www-form-urlencoded", "host": "marquee.lambda-url.local",
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "x-slack-request-timestamp": str(ts), "x-slack-signature": sig,
        },
        "requestContext": {
            "accountId": "123456789012", "apiId": "marquee", "domainName": "marquee.lambda-url.local",
            "domainPrefix": "marquee", "requestId": str(uuid.uuid4()), "routeKey": "$default",
            "stage": "$default", "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": now_ms,
            "http": {"method": "POST", "path": "/slack/commands", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "Slackbot 1.0"},
        },
        "body": base64.b64encode(body).decode(), "isBase64Encoded": True,
    }


class RuntimeApi:
    """One Runtime API endpoint for one function process (a fresh one per cold start, so a
    killed process's pending long-poll can never take the next run's event)."""

    def __init__(self):
        self.events = queue.Queue()
        self.responses = {}
        self.done = threading.Condition()
        self.async_invokes = 0
        self.errors = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404)
                try:
                    request_id, event = api.events.get(timeout=WAIT * 4)
                except queue.Empty:
                    return self.reply(500)
                self.reply(200, json.dumps(event).encode(), [
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000)),
                    ("Lambda-Runtime-Invoked-Function-Arn",
                     "arn:aws:lambda:us-east-1:123456789012:function:marquee"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
                ])

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = self.path.split("?")[0].strip("/").split("/")
                if "functions" in parts and parts[-1] == "invocations":
                    # Lambda's Invoke API: an Event invocation is queued and answered with 202.
                    api.async_invokes += 1
                    return self.reply(202)
                if len(parts) >= 5 and parts[-3] == "invocation" and parts[-1] in ("response", "error"):
                    with api.done:
                        api.responses[parts[-2]] = (time.perf_counter(), parts[-1], body)
                        api.done.notify_all()
                    return self.reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])
                if parts[-2:] == ["init", "error"]:
                    api.errors.append(body.decode(errors="replace"))
                    with api.done:
                        api.done.notify_all()
                    return self.reply(202)
                return self.reply(404)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a terminated function's half-open long-poll is expected, not news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event):
        """Queues `event` and returns its request id and the perf_counter time it was queued."""
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        self.events.put((request_id, event))
        return request_id, started

    def wait(self, request_id, process):
        deadline = time.monotonic() + WAIT
        with self.done:
            while request_id not in self.responses:
                if self.errors:
                    raise RuntimeError(f"the function failed to start: {self.errors[-1][:500]}")
                if process.poll() is not None:
                    raise RuntimeError(f"the function exited with {process.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError("no response within %.0f s" % WAIT)
                self.done.wait(0.05)
            return self.responses[request_id]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def check_ack(kind, body):
    if kind != "response":
        raise RuntimeError(f"the function reported an error: {body[:500]!r}")
    response = json.loads(body)
    status = response.get("statusCode")
    text = response.get("body") or ""
    if response.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    if status != 200 or "Generating" not in text or "ephemeral" not in text:
        raise RuntimeError(f"not an ack: {status} {text[:300]}")


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_once(name, command, env, cwd, warm):
    api = RuntimeApi()
    full_env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.port}",
                    AWS_ENDPOINT_URL_LAMBDA=f"http://127.0.0.1:{api.port}")
    log = tempfile.TemporaryFile()
    request_id, _ = api.invoke(slash_event(0))
    started = time.perf_counter()
    process = subprocess.Popen(command, env=full_env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        at, kind, body = api.wait(request_id, process)
        cold = at - started
        check_ack(kind, body)
        acks = []
        for i in range(1, warm + 1):
            request_id, queued = api.invoke(slash_event(i))
            at, kind, body = api.wait(request_id, process)
            check_ack(kind, body)
            acks.append(at - queued)
        rss = peak_rss_kib(process.pid)
        if api.async_invokes != warm + 1:
            raise RuntimeError(f"{api.async_invokes} async invocations for {warm + 1} acks")
        return cold, acks, rss
    except Exception:
        log.seek(0)
        sys.stderr.write(f"--- {name} output ---\n{log.read()[-4000:].decode(errors='replace')}\n")
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        api.close()
        log.close()


def pct(values, p):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rust", required=True, help="path to the marquee-lambda binary")
    parser.add_argument("--python", required=True, help="python with slack_bolt, boto3 and awslambdaric")
    parser.add_argument("--rounds", type=int, default=20, help="cold starts per function")
    parser.add_argument("--warm", type=int, default=50, help="warm acks after each cold start")
    parser.add_argument("--json", help="also write the raw timings here")
    parser.add_argument("--only", choices=["marquee", "bolt"], help="measure one function (a smoke test)")
    parser.add_argument("--baseline", metavar="PATH",
                        help="a second marquee-lambda binary (say, an earlier build), measured as "
                             "'baseline' in the same rounds, alternating, with its ratios to marquee")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="bolt-compare-")
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8", "SLACK_SIGNING_SECRET": SECRET,
        "AWS_LAMBDA_FUNCTION_NAME": "marquee", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDLOCALBENCH",
        "AWS_SECRET_ACCESS_KEY": "local-bench-secret", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
    }
    functions = {
        "marquee": ([os.path.abspath(args.rust)],
                    dict(base, MARQUEE_MODEL="offline", MARQUEE_DATA_DIR=data_dir), None),
        "bolt": ([args.python, "-m", "awslambdaric", "bolt_app.handler"],
                 dict(base, LAMBDA_TASK_ROOT=HERE, PYTHONPATH=HERE, PYTHONDONTWRITEBYTECODE="1",
                      _HANDLER="bolt_app.handler"), HERE),
    }
    if args.baseline:
        # Run first in each round, so neither build always follows the Python process.
        functions = {"baseline": ([os.path.abspath(args.baseline)], functions["marquee"][1], None),
                     **functions}
    if args.only:
        functions = {n: f for n, f in functions.items() if n == args.only or
                     (args.only == "marquee" and n == "baseline")}
    results = {name: {"cold": [], "ack": [], "rss": []} for name in functions}
    for r in range(args.rounds):
        for name, (command, env, cwd) in functions.items():
            cold, acks, rss = run_once(name, command, env, cwd, args.warm)
            results[name]["cold"].append(cold)
            results[name]["ack"].extend(acks)
            if rss:
                results[name]["rss"].append(rss)
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{n} cold {results[n]['cold'][-1] * 1000:.0f} ms" for n in functions), file=sys.stderr, flush=True)

    ms = lambda s: f"{s * 1000:.1f} ms"
    rows = {}
    for name, res in results.items():
        rows[name] = (statistics.median(res["cold"]), pct(res["cold"], 90), pct(res["cold"], 95),
                      min(res["cold"]), statistics.median(res["ack"]), pct(res["ack"], 99),
                      max(res["rss"]) / 1024 if res["rss"] else float("nan"))
    print(f"\n{args.rounds} cold starts and {args.rounds * args.warm} warm acks per function, alternating")
    print(f"{'function':10} {'cold median':>12} {'cold p90':>10} {'cold p95':>10} {'cold min':>10} "
          f"{'ack median':>11} {'ack p99':>10} {'peak RSS':>9}")
    for name, (cm, c90, c95, cmin, am, a99, rss) in rows.items():
        print(f"{name:10} {ms(cm):>12} {ms(c90):>10} {ms(c95):>10} {ms(cmin):>10} {ms(am):>11} "
              f"{ms(a99):>10} {rss:>6.1f} MB")
    for other in ("bolt", "baseline"):
        if other in rows and "marquee" in rows:
            (bcm, bc90, bc95, _, bam, ba99, brss), (rcm, rc90, rc95, _, ram, ra99, rrss) = \
                rows[other], rows["marquee"]
            d = 1 if other == "bolt" else 2  # a baseline's ratios are near 1
            print(f"{other} / marquee: cold median ×{bcm / rcm:.{d}f}, cold p90 ×{bc90 / rc90:.{d}f}, "
                  f"cold p95 ×{bc95 / rc95:.{d}f}, ack median ×{bam / ram:.{d}f}, "
                  f"ack p99 ×{ba99 / ra99:.{d}f}, peak RSS ×{brss / rrss:.{d}f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f)


if __name__ == "__main__":
    main()
