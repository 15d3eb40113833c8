"""The verification service (FastAPI on uvicorn).

Hot path: decode and verify the token against a cached trust list, then one registry
statement that both counts the verification and returns the status. No warehouse access.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

import jinja2
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from certificates import config, verify
from certificates import token as tokens
from certificates.keys import KeyStore
from certificates.registry import Registry

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)


class TrustCache:
    """Public keys and pre-built COSE keys, refreshed every `ttl` s or on an unknown kid."""

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
        self.trust, self.cose_keys, self.loaded = trust, tokens.cose_key_cache(trust), time.monotonic()

    def get(self):
        if time.monotonic() - self.loaded > self.ttl:
            with self.lock:
                if time.monotonic() - self.loaded > self.ttl:
                    self._load()
        return self.trust, self.cose_keys

    def refresh_soon(self) -> None:
        """Reload only when the trust file changed (a stat, so unknown kids cannot force work)."""
        with self.lock:
            if self._mtime() != self.mtime:
                self._load()


class RateLimiter:
    """Sliding window per client: at most `limit` attempts in `window` seconds."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self.hits: dict[str, deque] = defaultdict(deque)
        self.lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self.lock:
            q = self.hits[client]
            while q and now - q[0] > self.window:
                q.popleft()
            if len(q) >= self.limit:
                return False
            q.append(now)
            if len(self.hits) > 100_000:  # forget idle clients
                for key in [k for k, v in self.hits.items() if not v]:
                    del self.hits[key]
            return True


def create_app(
    registry: Registry | None = None,
    keystore: KeyStore | None = None,
    *,
    lookup_limit: int = 10,
    lookup_window: float = 60.0,
) -> FastAPI:
    registry = registry or Registry()
    cache = TrustCache(keystore or KeyStore())
    limiter = RateLimiter(lookup_limit, lookup_window)
    # The endpoints are `async def`: verification is CPU work of well under a millisecond
    # plus one SQLite statement on a kept connection, so running it on the event loop
    # avoids a thread-pool hop per request, which dominated the tail latency under load.
    app = FastAPI(title="shebao 电子证明验证服务", docs_url=None, redoc_url=None)
    app.state.registry, app.state.trust_cache, app.state.limiter = registry, cache, limiter

    def check(token_text: str) -> verify.Verdict:
        token_text = token_text.upper()
        trust, cose_keys = cache.get()
        verdict = verify.verify_token(token_text, trust, registry, count=True, cose_keys=cose_keys)
        if verdict.reason == "unknown_kid":  # a key rotated in by the CLI since the last load
            cache.refresh_soon()
            trust, cose_keys = cache.get()
            verdict = verify.verify_token(token_text, trust, registry, count=True, cose_keys=cose_keys)
        return verdict

    def page(verdict: verify.Verdict | None, *, title: str, show_form: bool = False, status_code: int = 200, **kw):
        html = _env.get_template("verify_page.html").render(
            verdict=verdict, page_title=title, issuer=config.ISSUER_NAME, show_form=show_form, **kw
        )
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})

    @app.get("/c/{token}", response_class=HTMLResponse)
    @app.get("/C/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def verify_page(token: str):
        return page(check(token), title="证明验证")

    @app.get("/api/verify/{token}")
    async def verify_api(token: str):
        return JSONResponse(check(token).as_json(), headers={"Cache-Control": "no-store"})

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def do_lookup(request: Request, number: str, code: str) -> tuple[verify.Verdict, int]:
        if not limiter.allow(client_of(request)):
            return verify.Verdict("rate_limited"), 429
        return verify.lookup(registry, number[:64], code[:64]), 200

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
        trust, _ = cache.get()
        return JSONResponse(trust.as_json(), headers={"Cache-Control": "public, max-age=300"})

    @app.get("/healthz")
    async def health():
        return {"ok": True}

    return app


def serve(host: str = "127.0.0.1", port: int = 8765) -> None:
    import uvicorn

    app = create_app()
    gc.freeze()  # the long-lived objects of the app stay out of every later collection
    uvicorn.run(app, host=host, port=port, log_level="info")
