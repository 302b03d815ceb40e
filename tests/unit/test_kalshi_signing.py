from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

from adapters.kalshi.errors import BadCredentials
from adapters.kalshi.signing import (
    load_credentials,
    load_private_key,
    load_public_key,
    new_rsa_key_pair,
    presign_text,
    sign,
    verify,
)

PRIVATE_PEM, PUBLIC_PEM = new_rsa_key_pair()


def test_the_presign_text_is_timestamp_method_and_path_without_query() -> None:
    assert presign_text(1703123456789, "get",
                        "https://external-api.kalshi.com/trade-api/v2/portfolio/orders?limit=5"
                        ) == b"1703123456789GET/trade-api/v2/portfolio/orders"


def test_rsa_signatures_are_pss_sha256_with_digest_length_salt() -> None:
    private = load_private_key(PRIVATE_PEM)
    public = load_public_key(PUBLIC_PEM)
    signature = sign(private, 1703123456789, "POST", "/trade-api/v2/portfolio/events/orders")

    # Checked with the primitives directly, not through our own verify.
    public.verify(base64.b64decode(signature), b"1703123456789POST/trade-api/v2/portfolio/events/orders",
                  padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    assert verify(public, signature, 1703123456789, "POST",
                  "/trade-api/v2/portfolio/events/orders?ignored=1")
    assert not verify(public, signature, 1703123456790, "POST",
                      "/trade-api/v2/portfolio/events/orders")
    assert not verify(public, signature, 1703123456789, "DELETE",
                      "/trade-api/v2/portfolio/events/orders")
    assert not verify(public, "not base64!", 1, "GET", "/")


def test_ed25519_keys_sign_too() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    signature = sign(key, 5, "GET", "/trade-api/v2/markets")
    assert verify(key.public_key(), signature, 5, "GET", "/trade-api/v2/markets")


def test_credentials_come_from_a_private_file_and_hide_the_key(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture
                                                               ) -> None:
    key_file = tmp_path / "kalshi.pem"
    key_file.write_bytes(PRIVATE_PEM)
    key_file.chmod(0o600)
    caplog.set_level(logging.DEBUG)

    credentials = load_credentials("key-123", key_file)
    headers = credentials.headers("GET", "/trade-api/v2/portfolio/balance", 42)

    assert headers["KALSHI-ACCESS-KEY"] == "key-123"
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == "42"
    secret_line = PRIVATE_PEM.decode().splitlines()[1]
    assert secret_line not in repr(credentials)
    assert secret_line not in caplog.text and headers["KALSHI-ACCESS-SIGNATURE"] not in caplog.text


@pytest.mark.parametrize(("key_id", "content", "mode", "message"), [
    (None, PRIVATE_PEM, 0o600, "MILKBOT_KALSHI_KEY_ID is not set"),
    ("k", PRIVATE_PEM, 0o644, "readable by other users"),
    ("k", b"-----BEGIN NONSENSE-----", 0o600, "not an unencrypted PEM private key"),
    ("k", PUBLIC_PEM, 0o600, "not an unencrypted PEM private key"),
])
def test_bad_credentials_name_the_setting_and_never_the_key(tmp_path: Path, key_id: str | None,
                                                            content: bytes, mode: int,
                                                            message: str) -> None:
    key_file = tmp_path / "kalshi.pem"
    key_file.write_bytes(content)
    key_file.chmod(mode)
    with pytest.raises(BadCredentials, match=message) as caught:
        load_credentials(key_id, key_file)
    assert PRIVATE_PEM.decode().splitlines()[1] not in str(caught.value)


def test_a_missing_key_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(BadCredentials, match="MILKBOT_KALSHI_PRIVATE_KEY_FILE"):
        load_credentials("k", tmp_path / "absent.pem")
    with pytest.raises(BadCredentials, match="MILKBOT_KALSHI_PRIVATE_KEY_FILE is not set"):
        load_credentials("k", None)
