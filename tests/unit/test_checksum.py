"""SHA-256 in blocks: the same digest as hashlib, the bytes passed through when asked."""

from __future__ import annotations

import hashlib
import io

from etl_bundle.common.checksum import sha256_of, sha256_stream


def test_stream_digest_counts_and_passes_every_block_through(tmp_path):
    payload = bytes(range(256)) * 1000  # several blocks of 64 KiB and a remainder
    out = io.BytesIO()
    digest, size = sha256_stream(io.BytesIO(payload), out)
    assert (digest, size) == (hashlib.sha256(payload).hexdigest(), len(payload))
    assert out.getvalue() == payload
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)
    assert sha256_of(path) == digest
