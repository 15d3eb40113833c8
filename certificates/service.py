"""The verification service (FastAPI on uvicorn).

Hot path: decode and verify the token against a cached trust list, then one registry
statement that both counts the verification and returns the status. No warehouse access.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import OrderedDict, deque
from pathlib import Path

import jinja2
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from certificates import audit, config, pdf_verify, pending, verify
from certificates import trust as trusts
from certificates.keys import KeyStore
from certificates.registry import Registry

TEMPLATES = Path(__file__).resolve().parent / "templates"
NO_STORE = {"Cache-Control": "no-store"}
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)


class TrustCache:
    """The trust list's public keys, refreshed every `ttl` s or on an unknown kid."""

    def __init__(self, keystore: KeyStore, ttl: float = 30.0):
        self.keystore, self.ttl = keystore, ttl
        self.lock = threading.Lock()
        self.loaded = 0.0
        self._load()

    def _mtime(self) -> int:
        try:
            return self.keystore.trust_path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def _load(self) -> None:
        self.mtime = self._mtime()
        trust = self.keystore.trust_list()
        self.trust, self.loaded = trust, time.monotonic()

    def get(self):
        if time.monotonic() - self.loaded > self.ttl:
            with self.lock:
                if time.monotonic() - self.loaded > self.ttl:
                    self._load()
        return self.trust

    def refresh_soon(self) -> None:
        """Reload only when the trust file changed (a stat, so unknown kids cannot force work)."""
        with self.lock:
            if self._mtime() != self.mtime:
                self._load()


class RateLimiter:
    """Sliding window per client: at most `limit` attempts in `window` seconds.

    Clients are kept in least-recently-seen order, so every call first forgets the clients
    idle for a whole window (amortised O(1)) and the table never exceeds `max_clients`."""

    def __init__(self, limit: int, window: float, max_clients: int = 50_000):
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self.hits: OrderedDict[str, deque] = OrderedDict()
        self.lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self.lock:
            while self.hits:
                oldest, q = next(iter(self.hits.items()))
                stale = not q or now - q[-1] > self.window
                full = len(self.hits) >= self.max_clients and client not in self.hits
                if not (stale or full):
                    break
                del self.hits[oldest]
            q = self.hits.pop(client) if client in self.hits else deque()
            self.hits[client] = q  # most recently seen last
            while q and now - q[0] > self.window:
                q.popleft()
            if len(q) >= self.limit:
                return False
            q.append(now)
            return True


def client_address(request: Request, trusted_proxies: frozenset[str]) -> str:
    """The peer's address; X-Forwarded-For only when the peer is a configured proxy."""
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted_proxies:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):  # the nearest hop not one of our proxies is the client
        if hop not in trusted_proxies:
            return hop[:64]
    return peer


def trusted_proxies_from_env() -> frozenset[str]:
    return frozenset(p.strip() for p in os.environ.get("SHEBAO_TRUSTED_PROXIES", "").split(",") if p.strip())


def create_app(
    registry: Registry | None = None,
    keystore: KeyStore | None = None,
    *,
    lookup_limit: int = 10,
    lookup_window: float = 60.0,
    trusted_proxies: frozenset[str] | None = None,
    pdf_limit: int = 20,
) -> FastAPI:
    registry = registry or Registry()
    pending.recover(registry)  # roll back certificates half-issued by a crashed issuer
    proxies = trusted_proxies_from_env() if trusted_proxies is None else frozenset(trusted_proxies)
    pdf_lock = threading.Lock()  # pdfium is not thread-safe
    cache = TrustCache(keystore or KeyStore())
    limiter = RateLimiter(lookup_limit, lookup_window)
    pdf_limiter = RateLimiter(pdf_limit, 60.0)  # a PDF costs up to a second of CPU: uploads are limited too
    trail = audit.AuditBuffer()  # verification events, appended off the request path
    # The endpoints are `async def`: verification is CPU work of well under a millisecond
    # plus one SQLite statement on a kept connection, so running it on the event loop
    # avoids a thread-pool hop per request, which dominated the tail latency under load.
    app = FastAPI(title="shebao 电子证明验证服务", docs_url=None, redoc_url=None)
    app.state.registry, app.state.trust_cache, app.state.limiter = registry, cache, limiter
    app.state.audit = trail

    def audited(verdict: verify.Verdict, request: Request, channel: str) -> verify.Verdict:
        client = client_address(request, proxies)
        trail.add("verify", f"service:{client}", verdict.cert_id or "", reason=verdict.reason, channel=channel)
        return verdict

    def check(token_text: str) -> verify.Verdict:
        verdict = verify.verify_token(token_text, cache.get(), registry, count=True)
        if verdict.reason == "unknown_kid":  # a key rotated in by the CLI since the last load
            cache.refresh_soon()
            verdict = verify.verify_token(token_text, cache.get(), registry, count=True)
        return verdict

    def page(
        verdict: verify.Verdict | None,
        *,
        title: str,
        show_form: bool = False,
        status_code: int = 200,
        mode: str = "verdict",
        **kw,
    ):
        html = _env.get_template("verify_page.html").render(
            verdict=verdict, page_title=title, issuer=config.ISSUER_NAME, show_form=show_form, mode=mode, **kw
        )
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})

    @app.get("/c/{token}", response_class=HTMLResponse)
    @app.get("/C/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def verify_page(token: str, request: Request):
        return page(audited(check(token), request, "page"), title="证明验证")

    @app.get("/api/verify/{token}")
    async def verify_api(token: str, request: Request):
        return JSONResponse(audited(check(token), request, "api").as_json(), headers=NO_STORE)

    @app.get("/", response_class=HTMLResponse)
    async def home():
        return page(None, title="电子证明验证", mode="home")

    def check_pdf(data: bytes) -> verify.Verdict:
        trust = cache.get()
        with pdf_lock:
            return pdf_verify.verify_pdf(data, trust, registry, count=True)

    async def read_upload(file: UploadFile) -> bytes | None:
        data = await file.read(config.MAX_PDF_BYTES + 1)
        return None if len(data) > config.MAX_PDF_BYTES else data

    @app.get("/pdf", response_class=HTMLResponse)
    async def pdf_form():
        return page(None, title="PDF文件验证", mode="pdf")

    async def upload_verdict(request: Request, file: UploadFile) -> tuple[verify.Verdict, int]:
        if not pdf_limiter.allow(client_address(request, proxies)):
            return audited(verify.Verdict("rate_limited"), request, "pdf"), 429
        data = await read_upload(file)
        if data is None:
            return audited(verify.Verdict("too_large"), request, "pdf"), 413
        return audited(await run_in_threadpool(check_pdf, data), request, "pdf"), 200

    @app.post("/pdf", response_class=HTMLResponse)
    async def pdf_page(request: Request, file: UploadFile = File(...)):
        verdict, status = await upload_verdict(request, file)
        return page(verdict, title="PDF文件验证", mode="pdf", status_code=status)

    @app.post("/api/verify-pdf")
    async def pdf_api(request: Request, file: UploadFile = File(...)):
        verdict, status = await upload_verdict(request, file)
        return JSONResponse(verdict.as_json(), status_code=status, headers=NO_STORE)

    def do_lookup(request: Request, number: str, code: str) -> tuple[verify.Verdict, int]:
        if not limiter.allow(client_address(request, proxies)):
            return audited(verify.Verdict("rate_limited"), request, "lookup"), 429
        return audited(verify.lookup(registry, number[:64], code[:64]), request, "lookup"), 200

    @app.get("/lookup", response_class=HTMLResponse)
    async def lookup_page(request: Request, number: str = Query(""), code: str = Query("")):
        if not number and not code:
            return page(None, title="证明查询", show_form=True)
        verdict, status = do_lookup(request, number, code)
        return page(verdict, title="证明查询", show_form=True, status_code=status, number=number[:64], code=code[:64])

    @app.get("/api/lookup")
    async def lookup_api(
        request: Request, number: str = Query(..., max_length=64), code: str = Query(..., max_length=64)
    ):
        verdict, status = do_lookup(request, number, code)
        return JSONResponse(verdict.as_json(), status_code=status, headers={"Cache-Control": "no-store"})

    @app.get("/.well-known/shebao-keys.json")
    async def keys():
        trust = cache.get()
        return JSONResponse(trust.as_json(), headers={"Cache-Control": "public, max-age=300"})

    signed_lists: dict[str, tuple[float, dict]] = {}
    signed_lock = threading.Lock()

    def signed(kind: str) -> dict:
        """The signed trust / revocation list, re-signed at most every 30 s (not per request)."""
        with signed_lock:
            held = signed_lists.get(kind)
            if held is None or time.monotonic() - held[0] > 30:
                ks = cache.keystore
                doc = trusts.signed_trust_list(ks) if kind == "trust" else trusts.signed_revocation_list(registry, ks)
                held = signed_lists[kind] = (time.monotonic(), doc)
            return held[1]

    @app.get("/.well-known/shebao-trust-list.json")
    async def trust_list_doc():
        return JSONResponse(signed("trust"), headers={"Cache-Control": "public, max-age=300"})

    @app.get("/.well-known/shebao-revocations.json")
    async def revocation_doc():
        return JSONResponse(signed("revocations"), headers={"Cache-Control": "public, max-age=30"})

    @app.get("/healthz")
    async def health():
        return {"ok": True}

    return app


def serve(host: str = "127.0.0.1", port: int = 8765) -> None:
    import uvicorn

    from certificates import pdf_verify

    app = create_app()
    # the PDF stack's imports take a second or more: off the start-up path, before the first upload
    threading.Thread(target=pdf_verify.warm_up, name="pdf-warm-up", daemon=True).start()
    gc.freeze()  # the long-lived objects of the app stay out of every later collection
    # uvicorn would otherwise rewrite the client address from X-Forwarded-For, and the lookup
    # limiter would key on whatever a client claims to be; client_address() alone decides
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
