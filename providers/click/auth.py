"""CLICK Merchant API `Auth` header: `<merchant_user_id>:<sha1(timestamp + secret)>:<timestamp>`."""

import hashlib
import time


def digest(timestamp: int, secret_key: str) -> str:
    # SHA-1 of the plain concatenation, timestamp first: CLICK's scheme, not an HMAC.
    return hashlib.sha1((str(timestamp) + secret_key).encode("utf-8")).hexdigest()


def auth_header(merchant_user_id: str, secret_key: str, now: int | None = None) -> str:
    timestamp = int(now if now is not None else time.time())
    return f"{merchant_user_id}:{digest(timestamp, secret_key)}:{timestamp}"
