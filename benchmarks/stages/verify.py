"""Stage 6: the verification service under a bounded load on loopback.

The server is the product as shipped (`certificates.service.serve`, uvicorn, one worker,
access log on, its output to /dev/null) pinned to core 0 with taskset; wrk 4.1 is pinned
to core 1. wrk has no fixed-rate mode (wrk2 is not packaged), so the rate is bounded with
its Lua `delay()` hook: C connections each wait D ms after every response, giving at
most C x 1000 / D requests per second (the achieved rate is reported; like any closed
loop it hides coordinated omission when the server stalls).

Also: uploading a long PDF to `/api/verify-pdf` (a unit proof of --upload-roster people over
one quarter, from the tests' one-unit landing built by the real pipeline: the issue asks for
60 pages; 620 people gave 77 pages before the condensed detail, 1,400 give about 64 after it),
the whole request timed at the client after one warm-up upload; target under 2 s.

Measured for the QR code's own URL (/c/<token>, the HTML page) with a valid token and
with a forged one (the signature's last byte flipped), and for /healthz, the same
server's floor (routing, HTTP, uvicorn), as the limit. An unthrottled run gives the
ceiling in requests per second.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.harness import Context, Metric, StageResult, summarise
from benchmarks.stages.built import built_home, copy_serving

LUA = """
local d = tonumber(os.getenv("WRK_DELAY_MS") or "0")
function delay() return d end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v


def parse_wrk(out: str) -> dict:
    res = {}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        if m:
            res[f"p{pct}_ms"] = round(_ms(m.group(1)), 3)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    res["socket_errors"] = m.group(1).strip() if m else ""
    return res


def wrk(url: str, seconds: int, connections: int, delay_ms: int, script: Path) -> dict:
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    out = subprocess.run(
        cmd, capture_output=True, text=True, env=dict(os.environ, WRK_DELAY_MS=str(delay_ms)), timeout=seconds + 60
    ).stdout
    return parse_wrk(out) | {"raw": out}


def forge(token: str) -> str:
    from certificates import token as tokens

    raw = bytearray(tokens.b32decode(token))
    raw[-1] ^= 0x01
    return tokens.b32encode(bytes(raw))


def long_pdf(ctx: Context, home: Path, roster: int) -> tuple[Path, int | None]:
    """A unit proof of `roster` people over one quarter (about 64 pages at 1,400), signed with `home`'s keys."""
    from benchmarks.stages.certificates import _pages
    from certificates.issue import issue_document
    from tests.support.warehouse import LARGE_UNIT_PERIODS, build_large_unit_warehouse

    source = ctx.scratch / "homes" / f"verify-upload-{roster}"
    if not (source / "serving" / "CURRENT").exists():  # built once per scratch folder
        shutil.rmtree(source, ignore_errors=True)
        build_large_unit_warehouse(source, roster_size=roster)
        os.environ["SHEBAO_HOME"] = str(home)
    pdf = home / "long.pdf"
    params = {"unit": "U001", "from": LARGE_UNIT_PERIODS[0], "to": LARGE_UNIT_PERIODS[-1]}
    issue_document("unit-proof", params, source / "warehouse.duckdb", out=pdf)
    return pdf, _pages(pdf)


def upload_times(base: str, pdf: Path, repeats: int) -> list[float]:
    import httpx

    data = pdf.read_bytes()
    times = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for i in range(repeats + 1):  # the first loads the PDF stack in the server
            t0 = time.perf_counter()
            answer = client.post("/api/verify-pdf", files={"file": (pdf.name, data, "application/pdf")})
            took = time.perf_counter() - t0
            body = answer.json()
            if answer.status_code != 200 or body.get("valid") is not True:
                raise RuntimeError(f"PDF upload not verified: {answer.status_code} {body}")
            if i:
                times.append(round(took, 3))
    return times


def run(ctx: Context, result: StageResult) -> None:
    scale = float(ctx.options.get("dashboard_scale", 1.0))
    src = built_home(ctx, scale)
    home = ctx.scratch / "homes" / "verify"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    serving = copy_serving(src, home)
    os.environ["SHEBAO_HOME"] = str(home)
    from benchmarks.stages.certificates import _units, quarter
    from certificates.issue import issue_document

    start, end = quarter(serving)
    unit = _units(serving, start, end)[0][0]
    cert = issue_document(
        "unit-proof", {"unit": unit, "from": start, "to": end}, home / "warehouse.duckdb", out=home / "cert.pdf"
    )
    valid, forged = cert.token, forge(cert.token)
    big_pdf, big_pages = long_pdf(ctx, home, int(ctx.options.get("upload_roster", 1400)))
    script = home / "paced.lua"
    script.write_text(LUA)

    port = _free_port()
    server = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, "-c", f"from certificates.service import serve; serve(port={port})"],
        env=dict(os.environ, SHEBAO_HOME=str(home)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("verification service did not start")
        for path in (f"/c/{valid}", f"/c/{forged}"):  # warm up and check the verdicts
            body = urllib.request.urlopen(base + path, timeout=5).read().decode()
            result.details.setdefault("verdict_pages_bytes", []).append(len(body))
        rate = int(ctx.options.get("verify_rate", 300))
        seconds = int(ctx.options.get("verify_seconds", 10))
        connections, delay_ms = 30, max(1, round(30 * 1000 / rate))
        runs = {}
        for name, path in (
            ("healthz (floor)", "/healthz"),
            ("valid token", f"/c/{valid}"),
            ("forged token", f"/c/{forged}"),
        ):
            samples = [
                wrk(base + path, seconds, connections, delay_ms, script) for _ in range(max(1, min(ctx.repeats, 3)))
            ]
            runs[name] = samples
        uploads = upload_times(base, big_pdf, max(1, min(ctx.repeats, 3)))
        ceiling = wrk(base + f"/c/{valid}", seconds, 16, 0, script)
        ceiling_h = wrk(base + "/healthz", seconds, 16, 0, script)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()

    def med(name: str, key: str) -> dict:
        return summarise([s[key] for s in runs[name]])

    floor99 = med("healthz (floor)", "p99_ms")
    for name in ("valid token", "forged token"):
        p99, p50, rps = med(name, "p99_ms"), med(name, "p50_ms"), med(name, "rps")
        m = result.add(
            Metric(
                f"{name}: p99 at {rate} rps offered",
                p99["median"],
                "ms",
                p99,
                floor99["median"],
                "/healthz p99, same load",
            )
        )
        m.met = p99["median"] <= 20 and rps["median"] >= 0.9 * rate
        m.target = f"p99 <= 20 ms at {rate} rps"
        m.note = (
            f"achieved {rps['median']:.0f} rps, p50 {p50['median']:.2f} ms, "
            f"non-2xx {runs[name][-1]['non_2xx']}, socket errors {runs[name][-1]['socket_errors'] or 'none'}"
        )
        result.add(
            Metric(
                f"{name}: p50 at {rate} rps offered",
                p50["median"],
                "ms",
                p50,
                med("healthz (floor)", "p50_ms")["median"],
                "/healthz p50, same load",
            )
        )
    v, f = med("valid token", "p50_ms")["median"], med("forged token", "p50_ms")["median"]
    m = result.add(Metric("forged / valid p50 cost", round(f / v, 3) if v else None, "x"))
    m.met, m.target = (f <= v * 1.1) if v else None, "forged <= valid (10 % noise allowance)"
    up = summarise(uploads)
    m = result.add(
        Metric(f"PDF upload verified ({big_pages} pages, {big_pdf.stat().st_size // 1024} KB)", up["median"], "s", up)
    )
    m.met, m.target = up["median"] < 2.0, "< 2 s"
    m.note = "POST /api/verify-pdf, whole request at the client, after one warm-up upload; verdict ok"
    m = result.add(
        Metric(
            "ceiling: valid token, unthrottled (16 connections)",
            ceiling["rps"],
            "rps",
            None,
            ceiling_h["rps"],
            "/healthz unthrottled",
        )
    )
    m.note = f"p50 {ceiling.get('p50_ms')} ms, p99 {ceiling.get('p99_ms')} ms"
    result.details["wrk"] = {k: [{kk: vv for kk, vv in s.items() if kk != "raw"} for s in v] for k, v in runs.items()}
    result.details["wrk_ceiling_raw"] = ceiling["raw"]
    result.notes.append(
        f"bounded load: {connections} connections x 1 request per ({delay_ms} ms + latency) "
        f"= at most {connections * 1000 / delay_ms:.0f} rps offered; server on core 0, wrk on core 1"
    )
