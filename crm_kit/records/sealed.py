"""Values kept sealed at rest: a secret a service must use again -- a webhook subscription's signing
secret signs every delivery -- cannot be hashed like a password, so its column holds it encrypted
(Fernet from the ``cryptography`` package: AES-128-CBC with an HMAC-SHA256, each value with its own
IV and timestamp) and the service opens it when it reads the row.

    secret = mapped_column(Sealed("WEBHOOKS_SEALING_KEYS"), nullable=False)

**Keys** come from the environment variable the column names: one or more keys, comma-separated; the
first seals, every one opens. Any string of at least 32 characters is a key (``openssl rand -hex
32``): the Fernet key is its SHA-256. To rotate: put the new key first and keep the old one after
it (rows written since are sealed with the new key; older ones still open with the old). On
Kubernetes the variable comes from a Secret (``crm_kit.config.SECRET_ENV``). Without the variable
(``make run``, the tests) a key is made once and kept in ``var/<variable>.key`` (mode 0600).

A row sealed with a key that is no longer given cannot be opened: reading it raises
``SealedValueError`` (the value is never returned sealed, nor silently empty).
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from crm_kit.config import env, var_dir

MIN_KEY_CHARS = 32
_sealers: dict[tuple[str, str], MultiFernet] = {}


class SealedValueError(Exception):
    """A sealed value that none of the keys opens (a key dropped too early, or another database's)."""


def keys_of(variable: str) -> list[str]:
    """The keys given in ``variable`` (comma-separated), or the one kept in ``var/`` for development."""
    given = [k.strip() for k in (env(variable) or "").split(",") if k.strip()]
    if given:
        short = [i for i, k in enumerate(given) if len(k) < MIN_KEY_CHARS]
        if short:
            raise ValueError(f"{variable}: key(s) {short} shorter than {MIN_KEY_CHARS} characters")
        return given
    path = Path(var_dir()) / f"{variable.lower()}.key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    return [path.read_text().strip()]


def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


def sealer(variable: str) -> MultiFernet:
    keys = keys_of(variable)
    cache_key = (variable, ",".join(keys))
    if cache_key not in _sealers:
        if len(_sealers) > 16:
            _sealers.clear()
        _sealers[cache_key] = MultiFernet([_fernet(k) for k in keys])
    return _sealers[cache_key]


def seal(variable: str, text: str) -> str:
    return sealer(variable).encrypt(text.encode()).decode()


def open_sealed(variable: str, token: str) -> str:
    try:
        return sealer(variable).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SealedValueError(f"a value sealed with a key that {variable} does not give") from None


class Sealed(TypeDecorator):
    """A text column whose values are sealed with the keys of ``variable`` (see the module)."""
    impl = Text
    cache_ok = True

    def __init__(self, variable: str, *args, **kwargs):
        self.variable = variable
        super().__init__(*args, **kwargs)

    def process_bind_param(self, value, dialect):
        return None if value is None else seal(self.variable, value)

    def process_result_value(self, value, dialect):
        return None if value is None else open_sealed(self.variable, value)
