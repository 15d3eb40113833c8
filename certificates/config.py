"""Where certificate state lives and the few settings a deployment changes.

Everything runtime lives under SHEBAO_HOME (keys, registry, issued PDFs), never in the
source tree and never in the warehouse, so issuing never contends with the pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path

from foundation.paths import shebao_home

ISSUER_NAME = "示例市社会保险事业管理中心"  # fictional issuer (docs/domain.md section 4)
ISSUER_ID = "SHEBAO-DEMO"  # `iss` claim; short, it travels in every QR code
DEFAULT_VERIFY_BASE = "HTTP://127.0.0.1:8765"
VALIDITY_MONTHS = 6  # printed validity of every document (seed 003: 有效期内(6个月))
KEY_SIGN_MONTHS = 6  # a signing key signs for this long before rotation is due
CLOCK_SKEW_SECONDS = 300
MAX_PDF_BYTES = 20 * 1024 * 1024  # an upload larger than this is refused unread


def keys_dir() -> Path:
    path = shebao_home() / "keys"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def registry_path() -> Path:
    return Path(os.environ.get("SHEBAO_CERT_REGISTRY", shebao_home() / "certificates.sqlite")).resolve()


def output_dir() -> Path:
    path = shebao_home() / "certificates"
    path.mkdir(parents=True, exist_ok=True)
    return path


def verify_base() -> str:
    """Base URL printed in QR codes; upper case so the QR stays in alphanumeric mode."""
    return os.environ.get("SHEBAO_VERIFY_BASE", DEFAULT_VERIFY_BASE).rstrip("/").upper()
