#!/usr/bin/env python3
"""Load generator for Marquee's Slack front door; run it through scripts/load.sh.

Sends N signed `/poster` slash commands at C-way concurrency to a Marquee URL on 127.0.0.1 and
plays Slack's side of the conversation: a local `response_url` receiver counts deliveries by
unique URL. Optionally it also stands in for Lambda's Invoke API (`--invoke-port`): `Event`
invocations are answered 202 at once and forwarded to `cargo lambda watch` in the background,
as real Lambda queues them (watch alone runs them synchronously and deadlocks a function that
invokes itself).

Asserts, exiting 1 if any fails: every command acked (HTTP 200, ephemeral "Generating…") within
--ack-limit seconds; every job delivered exactly once within --deliver-timeout; the server's RSS
after the run no more than --rss-growth-mb above its RSS after a warm-up. Only 127.0.0.1 is
contacted, every request has a timeout, and the whole run is bounded by --max-seconds.

With --burst (issue #23): no warm-up; every command is distinct and acked within --ack-limit
either as accepted ("Generating…") or as shed (an ephemeral, Slack-valid "busy" answer: nothing
queued); every accepted poster is delivered exactly once, no shed command gets any message, the
server is still running at the end, and its peak RSS stays under --rss-limit-mb.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
import urllib.parse
import uuid
from collections import Counter

import aiohttp
from aiohttp import web

TEXTS = [
    "a lighthouse keeper fights a kraken, 1950s pulp",
    "a detective in the rain --title \"The Long Night\" --tagline 'Nobody sleeps' --style noir --seed 42",
    "a detective — alone in the rain —title “The Long Night” –tagline ‘Nobody sleeps’ —style Noir",
    "Tom &amp; Jerry &lt;3 <@U123ABC> :rocket: 東京の夜 café --title “Ça va?” --ar 1:1",
]


def rss_by_pid(pids):
    """VmRSS in KiB of each process still alive."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                out[pid] = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return out


def rss_kib(pids):
    return sum(rss_by_pid(pids).values())


def pids_of(args):
    """The server's process ids: --pid, or every process named --name whose environment holds
    --match-env (watch starts instances through `cargo run`, in sessions of their own)."""
    if args.pid:
        return [args.pid]
    found = []
    wanted = args.match_env.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != args.name:
                    continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if wanted in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


class Slack:
    """The response_url receiver."""

    def __init__(self):
        self.deliveries = Counter()
        self.posters = Counter()
        self.first = {}
        self.bodies_ok = 0

    async def receive(self, request):
        body = await request.read()
        path = request.path
        self.deliveries[path] += 1
        self.first.setdefault(path, time.monotonic())
        try:
            msg = json.loads(body)
            if msg.get("blocks") or msg.get("text"):
                self.bodies_ok += 1
            if any(b.get("type") == "image" for b in msg.get("blocks") or []):
                self.posters[path] += 1
        except (ValueError, AttributeError):
            pass
        return web.Response(text="ok")


class AsyncInvoke:
    """Lambda's Invoke API in front of watch: Event -> 202 now, forwarded in the background."""

    def __init__(self, target, session):
        self.target = target.rstrip("/")
        self.session = session
        self.events = 0
        self.forward_errors = 0
        self.tasks = set()

    async def invoke(self, request):
        name = request.match_info["name"]
        body = await request.read()
        url = f"{self.target}/2015-03-31/functions/{name}/invocations"
        if request.headers.get("X-Amz-Invocation-Type", "RequestResponse") == "Event":
            self.events += 1
            task = asyncio.create_task(self.forward(url, body))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return web.Response(status=202)
        async with self.session.post(url, data=body, timeout=aiohttp.ClientTimeout(total=120)) as r:
            return web.Response(status=r.status, body=await r.read())

    async def forward(self, url, body):
        try:
            async with self.session.post(url, data=body, timeout=aiohttp.ClientTimeout(total=300)) as r:
                await r.read()
                if r.status >= 300 or r.headers.get("X-Amz-Function-Error"):
                    self.forward_errors += 1
        except (aiohttp.ClientError, asyncio.TimeoutError):
            self.forward_errors += 1


def form(i, receiver):
    response_url = f"http://127.0.0.1:{receiver}/commands/T0LOAD/{i}/{uuid.uuid4().hex}"
    body = urllib.parse.urlencode([
        ("token", "x"), ("team_id", "T0LOAD"), ("team_domain", "load"), ("channel_id", "C0LOAD"),
        ("channel_name", "load"), ("user_id", f"U{i:05d}"), ("user_name", "load"),
        ("command", "/poster"), ("text", TEXTS[i % len(TEXTS)]), ("api_app_id", "A0LOAD"),
        ("response_url", response_url), ("trigger_id", f"{i}.1.load"),
    ]).encode()
    return body, urllib.parse.urlparse(response_url).path


def busy_problems(text):
    """Why an ack body is not a Slack-valid ephemeral "busy" answer (Slack's rules for a
    message: a `text` fallback, `section` blocks with `mrkdwn` text of at most 3,000
    characters, at most 50 blocks), or None."""
    try:
        msg = json.loads(text)
    except ValueError:
        return "not JSON"
    if msg.get("response_type") != "ephemeral":
        return "not ephemeral"
    if "busy" not in msg.get("text", "") or "try again" not in msg.get("text", ""):
        return "does not say busy, try again"
    blocks = msg.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "blocks"
    for b in blocks:
        t = b.get("text", {})
        if b.get("type") != "section" or t.get("type") != "mrkdwn" or not 0 < len(t.get("text", "")) <= 3000:
            return f"block {b}"
    return None


async def run_burst(args):
    """Issue #23's burst: distinct commands, no warm-up; accepted or shed, never lost."""
    slack = Slack()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency + 20))
    app = web.Application()
    app.router.add_post("/commands/{team}/{id}/{token}", slack.receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.receiver_port).start()
    secret = args.secret.encode()
    acks, accepted, shed, failures = [], [], [], []

    async def one(i):
        body, path = form(i, args.receiver_port)
        ts = int(time.time())
        sig = "v0=" + hmac.new(secret, b"v0:%d:" % ts + body, hashlib.sha256).hexdigest()
        headers = {"content-type": "application/x-www-form-urlencoded",
                   "x-slack-request-timestamp": str(ts), "x-slack-signature": sig}
        started = time.monotonic()
        try:
            async with session.post(args.url, data=body, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=args.ack_limit * 4)) as r:
                text = await r.text()
                status = r.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            status, text = 0, repr(e)
        acks.append(time.monotonic() - started)
        if status == 200 and "Generating" in text and "ephemeral" in text:
            accepted.append(path)
        elif status == 200 and busy_problems(text) is None:
            shed.append(path)
        else:
            failures.append((i, f"{status} {busy_problems(text) if status == 200 else ''} {text[:200]}"))

    pids = pids_of(args)
    peak = [rss_kib(pids)]

    async def sample():
        while True:
            peak[0] = max(peak[0], rss_kib(pids))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    sem = asyncio.Semaphore(args.concurrency)

    async def guarded(i):
        async with sem:
            await one(i)

    started = time.monotonic()
    await asyncio.gather(*(guarded(i) for i in range(args.requests)))
    acked_in = time.monotonic() - started
    deadline = time.monotonic() + args.deliver_timeout
    while time.monotonic() < deadline and not all(slack.deliveries[p] for p in accepted):
        await asyncio.sleep(0.2)
    delivered_in = time.monotonic() - started
    await asyncio.sleep(args.idle)
    sampler.cancel()
    alive = all(os.path.exists(f"/proc/{p}") for p in pids) and bool(pids)
    rss_end = rss_kib(pids)

    missing = sum(1 for p in accepted if slack.deliveries[p] == 0)
    duplicated = sum(1 for p in accepted if slack.deliveries[p] > 1)
    posters = sum(1 for p in accepted if slack.posters[p] == 1 and slack.deliveries[p] == 1)
    notes = sum(1 for p in accepted if slack.posters[p] == 0 and slack.deliveries[p] == 1)
    shed_posted = sum(1 for p in shed if slack.deliveries[p])
    late = sum(1 for a in acks if a > args.ack_limit)
    print(f"target {args.url}: burst of {args.requests} distinct signed /poster commands, "
          f"{args.concurrency} at a time, no warm-up")
    print(f"  acks: {len(accepted)} accepted, {len(shed)} shed (busy, Slack-valid), {len(failures)} other; "
          f"all answered in {acked_in:.1f} s ({len(acks) / acked_in:.0f}/s); latency median "
          f"{statistics.median(acks) * 1000:.0f} ms, p99 {pct(acks, 99) * 1000:.0f} ms, "
          f"max {max(acks) * 1000:.0f} ms; over {args.ack_limit:.0f} s: {late}")
    print(f"  accepted: {posters} posters delivered exactly once, {notes} told it could not be finished, "
          f"{duplicated} answered more than once, {missing} never answered; all within {delivered_in:.1f} s")
    print(f"  shed: {len(shed)} told busy at once, {shed_posted} of them got a message later")
    print(f"  server: {'still running' if alive else 'GONE'}; peak RSS {peak[0] / 1024:.1f} MB "
          f"(limit {args.rss_limit_mb:.0f} MB), {rss_end / 1024:.1f} MB at the end")
    for i, text in failures[:5]:
        print(f"  failed ack #{i}: {text}")
    problems = []
    if failures:
        problems.append(f"{len(failures)} commands neither accepted nor told busy")
    if late:
        problems.append(f"{late} acks slower than {args.ack_limit} s")
    if missing or duplicated or notes:
        problems.append("accepted posters not delivered exactly once")
    if shed_posted:
        problems.append("a shed command got a message")
    if not alive:
        problems.append("the server died")
    if peak[0] / 1024 > args.rss_limit_mb:
        problems.append(f"peak RSS {peak[0] / 1024:.0f} MB over {args.rss_limit_mb:.0f} MB")
    await session.close()
    await runner.cleanup()
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print("PASSED: server up, memory bounded, every command acked in time, every accepted poster "
          "delivered exactly once, every shed command told")
    return 0


def pct(values, p):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(p / 100 * len(s) + 0.999999) - 1))]


async def run(args):
    if urllib.parse.urlparse(args.url).hostname != "127.0.0.1":
        sys.exit("load.py only targets 127.0.0.1")
    slack = Slack()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency + 20))
    app = web.Application()
    app.router.add_post("/commands/{team}/{id}/{token}", slack.receive)
    invoke = None
    if args.invoke_port:
        invoke = AsyncInvoke(args.invoke_target, session)
        app.router.add_post("/2015-03-31/functions/{name}/invocations", invoke.invoke)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.receiver_port).start()
    if args.invoke_port:
        await web.TCPSite(runner, "127.0.0.1", args.invoke_port).start()

    secret = args.secret.encode()
    acks, failures, expected = [], [], []

    async def one(i, record):
        body, path = form(i, args.receiver_port)
        ts = int(time.time())
        sig = "v0=" + hmac.new(secret, b"v0:%d:" % ts + body, hashlib.sha256).hexdigest()
        headers = {"content-type": "application/x-www-form-urlencoded",
                   "x-slack-request-timestamp": str(ts), "x-slack-signature": sig}
        started = time.monotonic()
        try:
            async with session.post(args.url, data=body, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=args.ack_limit * 4)) as r:
                text = await r.text()
                elapsed = time.monotonic() - started
                ok = r.status == 200 and "Generating" in text and "ephemeral" in text
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            elapsed, ok, text = time.monotonic() - started, False, repr(e)
        if record:
            expected.append(path)
            acks.append(elapsed)
            if not ok:
                failures.append((i, text[:200]))

    async def batch(start, count, record):
        sem = asyncio.Semaphore(args.concurrency)

        async def guarded(i):
            async with sem:
                await one(i, record)

        await asyncio.gather(*(guarded(i) for i in range(start, start + count)))

    async def settle(paths, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(slack.deliveries[p] for p in paths):
            await asyncio.sleep(0.1)

    # Warm-up: the server's pools, caches and fonts are loaded before the "before" sample.
    warm_n = args.requests if args.warmup is None else min(args.warmup, args.requests)
    await batch(10_000_000, warm_n, False)
    await settle([p for p in slack.deliveries], 5)
    await asyncio.sleep(1)
    for _ in range(int(args.deliver_timeout * 10)):
        if sum(slack.deliveries.values()) >= warm_n:
            break
        await asyncio.sleep(0.1)
    pids = pids_of(args)
    before_by_pid = rss_by_pid(pids)
    rss_before = sum(before_by_pid.values())
    warm_deliveries = Counter(slack.deliveries)

    peak = [rss_before]

    async def sample():
        while True:
            peak[0] = max(peak[0], rss_kib(pids_of(args)))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    started = time.monotonic()
    await batch(0, args.requests, True)
    acked_in = time.monotonic() - started
    await settle(expected, args.deliver_timeout)
    delivered_in = time.monotonic() - started
    await asyncio.sleep(args.idle)
    sampler.cancel()
    after_by_pid = rss_by_pid(pids_of(args))
    rss_after = sum(after_by_pid.values())
    # Memory limits are per process (a Lambda instance has its own), so "flat" is judged on the
    # process that grew most; the total is reported too.
    per_process = [after_by_pid[p] - before_by_pid[p] for p in after_by_pid if p in before_by_pid]
    worst_growth_mb = max(per_process, default=rss_after - rss_before) / 1024

    counts = [slack.deliveries[p] for p in expected]
    missing = sum(1 for c in counts if c == 0)
    duplicated = sum(1 for c in counts if c > 1)
    strays = sum(v for p, v in slack.deliveries.items() if p not in set(expected) and p not in warm_deliveries)
    late = sum(1 for a in acks if a > args.ack_limit)
    growth_mb = (rss_after - rss_before) / 1024

    print(f"target {args.url}: {args.requests} signed /poster commands, {args.concurrency} at a time")
    print(f"  acks: {len(acks) - len(failures)}/{len(acks)} ok, all sent and answered in {acked_in:.1f} s "
          f"({len(acks) / acked_in:.0f}/s); latency median {statistics.median(acks) * 1000:.0f} ms, "
          f"p95 {pct(acks, 95) * 1000:.0f} ms, p99 {pct(acks, 99) * 1000:.0f} ms, max {max(acks) * 1000:.0f} ms; "
          f"over {args.ack_limit:.0f} s: {late}")
    print(f"  deliveries: {len(expected) - missing}/{len(expected)} jobs delivered, {duplicated} more than once, "
          f"{missing} missing, {strays} unexpected; all within {delivered_in:.1f} s of the first command")
    if invoke:
        print(f"  async invokes: {invoke.events} queued (202), {invoke.forward_errors} forward errors")
    print(f"  server RSS ({len(pids_of(args))} process(es)): after warm-up {rss_before / 1024:.1f} MB, "
          f"peak {peak[0] / 1024:.1f} MB, after the run (+{args.idle:.0f} s idle) {rss_after / 1024:.1f} MB "
          f"(growth {growth_mb:+.1f} MB in all, {worst_growth_mb:+.1f} MB for the process that grew most)")
    for i, text in failures[:5]:
        print(f"  failed ack #{i}: {text}")

    problems = []
    if failures:
        problems.append(f"{len(failures)} commands not acked")
    if late:
        problems.append(f"{late} acks slower than {args.ack_limit} s")
    if missing or duplicated or strays:
        problems.append("deliveries not exactly once")
    if worst_growth_mb > args.rss_growth_mb:
        problems.append(f"a process's RSS grew {worst_growth_mb:.1f} MB (limit {args.rss_growth_mb} MB)")
    await session.close()
    await runner.cleanup()
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print("PASSED: every command acked in time, every job delivered exactly once, memory flat")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="the slash-command URL on 127.0.0.1")
    p.add_argument("--secret", required=True, help="the signing secret the server was given")
    p.add_argument("--receiver-port", type=int, required=True, help="where response_urls point")
    p.add_argument("--invoke-port", type=int, help="also serve the async-invoke stand-in here")
    p.add_argument("--invoke-target", help="watch's Invoke API root, e.g. http://127.0.0.1:9000")
    p.add_argument("--pid", type=int, help="the server process, for RSS")
    p.add_argument("--match-env", help="or: KEY=VALUE in the environment of the processes named --name")
    p.add_argument("--name", default="marquee-lambda")
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--warmup", type=int, default=None,
                   help="commands sent before the 'before' sample (default: a full round, so the "
                        "allocator's high-water mark is reached first and growth means a leak)")
    p.add_argument("--ack-limit", type=float, default=3.0)
    p.add_argument("--deliver-timeout", type=float, default=300.0)
    p.add_argument("--idle", type=float, default=2.0, help="seconds to wait before the after-sample")
    p.add_argument("--rss-growth-mb", type=float, default=64.0,
                   help="the most any one server process may grow over the measured round")
    p.add_argument("--max-seconds", type=float, default=900.0, help="hard bound on the whole run")
    p.add_argument("--burst", action="store_true",
                   help="issue #23's burst: no warm-up, shed commands allowed but told, peak RSS bounded")
    p.add_argument("--rss-limit-mb", type=float, default=1024.0,
                   help="with --burst: the most the server's peak RSS may reach")
    args = p.parse_args()
    try:
        code = asyncio.run(asyncio.wait_for((run_burst if args.burst else run)(args), args.max_seconds))
    except asyncio.TimeoutError:
        print(f"FAILED: the run did not finish within {args.max_seconds:.0f} s")
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
