"""Kalshi request signing: ``KALSHI-ACCESS-SIGNATURE`` over ``timestamp_ms + METHOD + path``.

The path is the URL path with the query stripped (``/trade-api/v2/portfolio/orders``, never
``...?limit=5``). RSA keys sign with RSA-PSS over SHA-256 (MGF1 SHA-256, salt the digest's
length); Ed25519 keys sign with Ed25519, as the spec allows. The private key never leaves this
module's objects: their ``repr`` hides it, and no error message quotes it or a signature.
"""

from __future__ import annotations

import base64
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from adapters.kalshi.errors import BadCredentials

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey

KEY_ID_SETTING = "MILKBOT_KALSHI_KEY_ID"
KEY_FILE_SETTING = "MILKBOT_KALSHI_PRIVATE_KEY_FILE"


@dataclass(frozen=True)
class Credentials:
    key_id: str
    private_key: PrivateKey = field(repr=False)

    def headers(self, method: str, url: str, timestamp_ms: int) -> dict[str, str]:
        """The three ``KALSHI-ACCESS-*`` headers for one request."""
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": str(timestamp_ms),
            "KALSHI-ACCESS-SIGNATURE": sign(self.private_key, timestamp_ms, method, url),
        }


def presign_text(timestamp_ms: int, method: str, url_or_path: str) -> bytes:
    path = urlsplit(url_or_path).path or "/"
    return f"{timestamp_ms}{method.upper()}{path}".encode()


def sign(private_key: PrivateKey, timestamp_ms: int, method: str, url_or_path: str) -> str:
    message = presign_text(timestamp_ms, method, url_or_path)
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        signature = private_key.sign(message)
    else:
        signature = private_key.sign(message, _pss(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def verify(public_key: PublicKey, signature_b64: str, timestamp_ms: int, method: str,
           url_or_path: str) -> bool:
    """True when the signature is the key's over this request; never raises on bad input."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        message = presign_text(timestamp_ms, method, url_or_path)
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, message)
        else:
            public_key.verify(signature, message, _pss(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def load_credentials(key_id: str | None, key_file: Path | None) -> Credentials:
    """Credentials from the settings, refused with the setting's name (never the key's text)."""
    if not key_id:
        raise BadCredentials(f"{KEY_ID_SETTING} is not set")
    if key_file is None:
        raise BadCredentials(f"{KEY_FILE_SETTING} is not set")
    try:
        mode = key_file.stat().st_mode
        data = key_file.read_bytes()
    except OSError as e:
        raise BadCredentials(f"{KEY_FILE_SETTING}: cannot read {key_file}: {e.strerror}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BadCredentials(f"{KEY_FILE_SETTING}: {key_file} is readable by other users; "
                             "chmod 600 it")
    return Credentials(key_id=key_id, private_key=load_private_key(data, where=str(key_file)))


def load_private_key(pem: bytes, *, where: str = "the key") -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise BadCredentials(f"{KEY_FILE_SETTING}: {where} is not an unencrypted PEM private key"
                             ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise BadCredentials(f"{KEY_FILE_SETTING}: {where} is neither an RSA nor an Ed25519 key")
    return key


def load_public_key(pem: bytes, *, where: str = "the public key") -> PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise BadCredentials(f"{where} is not a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise BadCredentials(f"{where} is neither an RSA nor an Ed25519 key")
    return key


def new_rsa_key_pair() -> tuple[bytes, bytes]:
    """A fresh RSA-2048 key pair as (private PEM, public PEM), for the simulator and the tests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public
