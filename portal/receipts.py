"""Offline checks for the audit chain's signed checkpoints and for document receipts.

This file stands alone on purpose: the standard library and `cryptography`, no Flask, no
database. Anyone can copy it (the transparency page serves it as `verify_receipt.py`) and run

    python verify_receipt.py RECEIPT.json FILE [--public-key KEY] [--extract DIR]

or, where the portal is installed, `python -m portal.receipts verify RECEIPT.json FILE`. It prints
each check and exits 0 when the receipt proves the file, 1 on any mismatch, 2 when the receipt is
well-formed but no checkpoint covers the upload yet.

What a receipt proves, link by link:

1. The file's SHA-256 is the one recorded in the audit row of the upload (`after.sha256`).
2. The audit row hashes to its `hash` (the row format of `portal.audit`: SHA-256 of the canonical
   JSON of the hashed fields, see `row_hash`), and that hash is chained to `prev_hash`. The audit
   log is a set of independent chains ("streams"); rows written since the streams exist also hash
   their `stream` and position `seq`.
3. The row's hash is a leaf of the checkpoint's batch tree: an RFC 6962 / RFC 9162 Merkle tree over
   the hashes of the audit rows added since the previous checkpoint, stream by stream, each stream
   in order (`batch_root`).
4. The checkpoint message (`checkpoint_message`, below) is signed with Ed25519 by the portal's
   audit key, published with every checkpoint at /api/v1/audit/checkpoints and /transparency/audit.
5. Optionally, an RFC 3161 timestamp token whose imprint is the SHA-256 of the checkpoint message
   (check its signature with `openssl ts -verify`, see `--extract`).

The signed checkpoint message is this ASCII text, lines joined by "\\n", no trailing newline:

    haichuang-audit-checkpoint:v2
    sequence=<1, 2, 3...>
    rows=<audit rows covered: the sum of the stream lengths below>
    head_event_id=<id of the newest covered audit row (the newest of the stream heads)>
    head=<its hash, 64 lowercase hex digits>
    previous_rows=<rows of the previous checkpoint, 0 for the first>
    batch_root=<Merkle root over the hashes of the rows added since the previous checkpoint, 64 hex digits>
    created_at=<UTC, YYYY-MM-DDTHH:MM:SSZ>
    streams=<number of streams listed>
    stream.<n>=<rows of stream n> <hash of its last covered row>      (one line per stream, by n)

Checkpoints written before the streams existed are format v1: the first line says
`haichuang-audit-checkpoint:v1`, the `streams` lines are absent, and they cover one chain (stream 0).
A published checkpoint (API item or receipt section) carries `streams: [{stream, rows, head}]` for v2.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CHECKPOINT_FORMAT = "haichuang-audit-checkpoint:v1"  # one chain (before the streams)
CHECKPOINT_FORMAT_V2 = "haichuang-audit-checkpoint:v2"  # the heads of all streams
RECEIPT_FORMAT = "haichuang-document-receipt:v1"
UPLOAD_ACTION = "project_document.added"


# ---- the signed checkpoint message and the audit row hash -----------------------------------------

def checkpoint_message(*, sequence: int, rows: int, head_event_id: int, head: str, previous_rows: int,
                       batch_root: str, created_at: str, streams: list | None = None) -> bytes:
    """The exact bytes an audit checkpoint signature covers (see the module docstring). `streams`:
    [(stream, rows, head), ...] for v2; None for a v1 checkpoint."""
    lines = [
        CHECKPOINT_FORMAT if streams is None else CHECKPOINT_FORMAT_V2,
        f"sequence={int(sequence)}",
        f"rows={int(rows)}",
        f"head_event_id={int(head_event_id)}",
        f"head={head}",
        f"previous_rows={int(previous_rows)}",
        f"batch_root={batch_root}",
        f"created_at={created_at}",
    ]
    if streams is not None:
        ordered = sorted((int(stream), int(length), str(head)) for stream, length, head in streams)
        lines.append(f"streams={len(ordered)}")
        lines.extend(f"stream.{stream}={length} {head}" for stream, length, head in ordered)
    return "\n".join(lines).encode("ascii")


def message_of(checkpoint: dict) -> bytes:
    """The signed message of a published checkpoint (API item or receipt section)."""
    return checkpoint_message(sequence=checkpoint["sequence"], rows=checkpoint["rows"],
                              head_event_id=checkpoint["head_event_id"], head=checkpoint["head"],
                              previous_rows=checkpoint["previous_rows"], batch_root=checkpoint["batch_root"],
                              created_at=checkpoint["created_at"], streams=streams_of(checkpoint))


def streams_of(checkpoint: dict) -> list | None:
    """The stream heads of a published v2 checkpoint as [(stream, rows, head)], None for v1."""
    if checkpoint.get("streams") is None:
        return None
    return [(item["stream"], item["rows"], item["head"]) for item in checkpoint["streams"]]


def row_hash(hashed: dict) -> str:
    """SHA-256 of an audit row's hashed fields (prev, at, actor, action, object_type, object_id,
    before, after, ip) as canonical JSON: sorted keys, no spaces, UTF-8."""
    encoded = json.dumps(hashed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


# ---- Merkle tree over a batch of row hashes (RFC 6962 section 2.1) ------------------------------------

def _leaf(row_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(row_hash_hex)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(_root(leaves[:k]), _root(leaves[k:]))


def merkle_root(row_hashes: list[str]) -> str:
    return _root([_leaf(h) for h in row_hashes]).hex()


def inclusion_path(row_hashes: list[str], index: int) -> list[str]:
    """The audit path of leaf `index`, bottom up (RFC 6962 PATH)."""

    def path(m: int, leaves: list[bytes]) -> list[bytes]:
        if len(leaves) <= 1:
            return []
        k = _split(len(leaves))
        if m < k:
            return path(m, leaves[:k]) + [_root(leaves[k:])]
        return path(m - k, leaves[k:]) + [_root(leaves[:k])]

    return [h.hex() for h in path(index, [_leaf(h) for h in row_hashes])]


def verify_inclusion(row_hash_hex: str, index: int, size: int, path: list[str], root: str) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, _leaf(row_hash_hex)
    for hex_hash in path:
        p = bytes.fromhex(hex_hash)
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r.hex() == root


# ---- Ed25519 --------------------------------------------------------------------------------------

def verify_signature(public_key_b64: str, signature_b64: str, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def public_key_pem(public_key_b64: str) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# ---- RFC 3161: a minimal DER reader and writer ------------------------------------------------------

SHA256_OID = "2.16.840.1.101.3.4.2.1"
SIGNED_DATA_OID = "1.2.840.113549.1.7.2"
TST_INFO_OID = "1.2.840.113549.1.9.16.1.4"


class TimestampError(ValueError):
    """The timestamp response or token is not what was asked for."""


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _der_oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return _der(0x06, bytes(body))


def _tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) elements that follow each other in `data` (definite lengths only)."""
    items, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise TimestampError("truncated DER")
        tag, first = data[pos], data[pos + 1]
        pos += 2
        if tag & 0x1F == 0x1F:
            raise TimestampError("unsupported DER tag")
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            if count == 0 or count > 4:
                raise TimestampError("unsupported DER length")
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
        if pos + length > len(data):
            raise TimestampError("truncated DER")
        items.append((tag, data[pos:pos + length]))
        pos += length
    return items


def _one(data: bytes, tag: int, what: str) -> bytes:
    items = _tlvs(data)
    if len(items) != 1 or items[0][0] != tag:
        raise TimestampError(f"{what}: unexpected structure")
    return items[0][1]


def timestamp_request(digest: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq for a SHA-256 digest, asking for the TSA certificate in the token."""
    algorithm = _der(0x30, _der_oid(SHA256_OID) + b"\x05\x00")
    imprint = _der(0x30, algorithm + _der(0x04, digest))
    return _der(0x30, _der_int(1) + imprint + _der_int(nonce) + b"\x01\x01\xff")


def token_from_response(response: bytes) -> bytes:
    """The TimeStampToken (DER ContentInfo) of a granted TimeStampResp."""
    items = _tlvs(_one(response, 0x30, "TimeStampResp"))
    status = _tlvs(items[0][1]) if items and items[0][0] == 0x30 else []
    if not status or status[0][0] != 0x02:
        raise TimestampError("TimeStampResp: no status")
    code = int.from_bytes(status[0][1], "big", signed=True)
    if code not in (0, 1) or len(items) < 2:
        raise TimestampError(f"the timestamp authority refused the request (status {code})")
    return _der(items[1][0], items[1][1])


def _decode_oid(content: bytes) -> str:
    first = content[0]
    parts, value = [first // 40 if first < 80 else 2, first % 40 if first < 80 else first - 80], 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


@dataclass
class TimestampInfo:
    imprint_algorithm: str
    imprint: bytes
    gen_time: datetime
    serial: int
    nonce: int | None


def timestamp_info(token: bytes) -> TimestampInfo:
    """Read the TSTInfo inside a TimeStampToken (its signature is checked with `openssl ts -verify`)."""
    content_info = _tlvs(_one(token, 0x30, "ContentInfo"))
    if len(content_info) < 2 or _decode_oid(content_info[0][1]) != SIGNED_DATA_OID or content_info[1][0] != 0xA0:
        raise TimestampError("ContentInfo: not SignedData")
    signed_data = _tlvs(_one(content_info[1][1], 0x30, "SignedData"))
    encapsulated = _tlvs(signed_data[2][1]) if len(signed_data) > 2 and signed_data[2][0] == 0x30 else []
    if len(encapsulated) < 2 or _decode_oid(encapsulated[0][1]) != TST_INFO_OID or encapsulated[1][0] != 0xA0:
        raise TimestampError("SignedData: no TSTInfo")
    tst = _tlvs(_one(_one(encapsulated[1][1], 0x04, "eContent"), 0x30, "TSTInfo"))
    if len(tst) < 5 or tst[2][0] != 0x30 or tst[3][0] != 0x02 or tst[4][0] != 0x18:
        raise TimestampError("TSTInfo: unexpected structure")
    imprint = _tlvs(tst[2][1])
    algorithm = _tlvs(imprint[0][1])
    gen_time_text = tst[4][1].decode("ascii")
    gen_time = datetime.strptime(gen_time_text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    nonce = next((int.from_bytes(c, "big", signed=True) for t, c in tst[5:] if t == 0x02), None)
    return TimestampInfo(_decode_oid(algorithm[0][1]), imprint[1][1], gen_time,
                         int.from_bytes(tst[3][1], "big", signed=True), nonce)


def check_token(token: bytes, message: bytes, nonce: int | None = None) -> TimestampInfo:
    """The token's imprint is the SHA-256 of `message` (and echoes `nonce`), or TimestampError."""
    info = timestamp_info(token)
    if info.imprint_algorithm != SHA256_OID or info.imprint != hashlib.sha256(message).digest():
        raise TimestampError("the timestamp's imprint is not the SHA-256 of the checkpoint message")
    if nonce is not None and info.nonce != nonce:
        raise TimestampError("the timestamp does not echo the request's nonce")
    return info


# ---- receipts -------------------------------------------------------------------------------------

@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


PENDING = 2


def verify_receipt(receipt: dict, data: bytes | None, public_key: str | None = None) -> tuple[int, list[Check]]:
    """Check a document receipt (and the file, when given). Returns (exit code, checks)."""
    checks: list[Check] = []

    def check(name: str, ok: bool, detail: str = "") -> bool:
        checks.append(Check(name, bool(ok), detail))
        return bool(ok)

    try:
        if not check("format", receipt.get("format") == RECEIPT_FORMAT, str(receipt.get("format"))):
            return 1, checks
        file_hash = receipt["file"]["sha256"]
        if data is not None:
            actual = hashlib.sha256(data).hexdigest()
            check("file SHA-256 matches the receipt", actual == file_hash, actual)
        event = receipt["audit_event"]
        hashed = event["hashed"]
        check("audit row records this file", hashed.get("action") == UPLOAD_ACTION
              and (hashed.get("after") or {}).get("sha256") == file_hash,
              f"row {event['id']}: {hashed.get('action')}")
        check("audit row hash recomputes", row_hash(hashed) == event["hash"], event["hash"])
        check("audit row links to its predecessor", hashed.get("prev") == event["prev_hash"], event["prev_hash"])
        checkpoint = receipt.get("checkpoint")
        if checkpoint is None:
            check("covered by a signed checkpoint", False,
                  "not yet: no checkpoint covers this upload; download the receipt again after the next one")
            return (1 if any(not c.ok for c in checks[:-1]) else PENDING), checks
        if checkpoint.get("streams") is not None and "stream" in event:
            signed = {item["stream"]: item["rows"] for item in checkpoint["streams"]}
            stream, seq = event["stream"], event["seq"]
            check(f"audit row is within stream {stream} as signed", signed.get(stream, 0) >= seq
                  and hashed.get("stream", stream) == stream and hashed.get("seq", seq) == seq,
                  f"position {seq} of {signed.get(stream, 0)}")
        inclusion = receipt["inclusion"]
        check(f"audit row is in checkpoint {checkpoint['sequence']}",
              inclusion["tree_size"] == checkpoint["rows"] - checkpoint["previous_rows"]
              and verify_inclusion(event["hash"], inclusion["leaf_index"], inclusion["tree_size"],
                                   inclusion["path"], checkpoint["batch_root"]),
              f"leaf {inclusion['leaf_index']} of {inclusion['tree_size']}, root {checkpoint['batch_root']}")
        message = message_of(checkpoint)
        check(f"checkpoint {checkpoint['sequence']} signature (Ed25519)",
              verify_signature(checkpoint["public_key"], checkpoint["signature"], message),
              f"public key {checkpoint['public_key']}, signed at {checkpoint['created_at']}")
        if public_key:
            check("signed by the expected public key", public_key.strip() == checkpoint["public_key"], public_key)
        token = checkpoint.get("timestamp_token")
        if token:
            try:
                info = check_token(base64.b64decode(token), message)
                check("RFC 3161 timestamp imprint matches the checkpoint", True,
                      f"time {info.gen_time:%Y-%m-%dT%H:%M:%SZ}, serial {info.serial}")
            except (TimestampError, ValueError) as error:
                check("RFC 3161 timestamp imprint matches the checkpoint", False, str(error))
    except (KeyError, TypeError, ValueError, IndexError) as error:
        check("receipt is well-formed", False, f"missing or invalid field: {error}")
    return (0 if all(c.ok for c in checks) else 1), checks


def extract(receipt: dict, folder: Path) -> list[str]:
    """Write the pieces for openssl and return the commands that check them."""
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = receipt["checkpoint"]
    (folder / "checkpoint-message.txt").write_bytes(message_of(checkpoint))
    (folder / "checkpoint-signature.bin").write_bytes(base64.b64decode(checkpoint["signature"]))
    (folder / "audit-public-key.pem").write_bytes(public_key_pem(checkpoint["public_key"]))
    commands = [
        f"sha256sum FILE   # must print {receipt['file']['sha256']}",
        f"openssl pkeyutl -verify -pubin -inkey {folder}/audit-public-key.pem -rawin "
        f"-in {folder}/checkpoint-message.txt -sigfile {folder}/checkpoint-signature.bin",
    ]
    if checkpoint.get("timestamp_token"):
        (folder / "timestamp.tst").write_bytes(base64.b64decode(checkpoint["timestamp_token"]))
        commands.append(f"openssl ts -verify -data {folder}/checkpoint-message.txt -in {folder}/timestamp.tst "
                        "-token_in -CAfile TSA-CA.pem")
    return commands


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["verify"]:
        argv = argv[1:]
    parser = argparse.ArgumentParser(prog="python -m portal.receipts verify",
                                     description="Verify a Haichuang document receipt offline.")
    parser.add_argument("receipt", type=Path)
    parser.add_argument("file", type=Path, nargs="?", help="the document (omit to check the receipt alone)")
    parser.add_argument("--public-key", help="the portal's audit public key (base64), as published")
    parser.add_argument("--extract", type=Path, metavar="DIR",
                        help="also write the signed message, signature, key and timestamp for openssl")
    args = parser.parse_args(argv)
    receipt: dict[str, Any] = json.loads(args.receipt.read_text(encoding="utf-8"))
    data = args.file.read_bytes() if args.file else None
    code, checks = verify_receipt(receipt, data, args.public_key)
    for item in checks:
        print(f"{'OK  ' if item.ok else 'FAIL'}  {item.name}{': ' + item.detail if item.detail else ''}")
    if code == 0 and not args.public_key:
        print("NOTE  compare the public key above with the one published on the portal's transparency page")
    if args.extract and receipt.get("checkpoint"):
        print("Equivalent checks with openssl:")
        for command in extract(receipt, args.extract):
            print("  " + command)
    print({0: "VERIFIED", 1: "MISMATCH", PENDING: "NOT ANCHORED YET"}[code])
    return code


if __name__ == "__main__":
    sys.exit(main())
