#!/usr/bin/env python3
"""Writes the committed seed corpus: a few small valid (and nearly valid) inputs per target, so
libFuzzer starts from the shapes the code expects instead of discovering JSON and token syntax
by chance. Run from anywhere; it rewrites fuzz/corpus/<target>/seed-* and fuzz/dict/."""

import base64
import hashlib
import hmac
import json
import pathlib
import shutil

FUZZ = pathlib.Path(__file__).resolve().parent
ROOM = "00000000-0000-4000-8000-000000000001"
CLIENT = "00000000-0000-4000-8000-000000000002"
USER = "00000000-0000-4000-8000-000000000003"
MESSAGE = "00000000-0000-4000-8000-000000000004"
SESSION = "00000000-0000-4000-8000-000000000005"

# Must match fuzz_targets/access_token.rs.
TOKEN_KEY = bytes([7] * 32)
ISSUER = "https://chat.example"
KID = hashlib.sha256(TOKEN_KEY).hexdigest()[:16]


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_token(header, claims):
    message = f"{b64url(header.encode())}.{b64url(claims.encode())}"
    signature = hmac.new(TOKEN_KEY, message.encode(), hashlib.sha256).digest()
    return f"{message}.{b64url(signature)}"


def ws_frame():
    author = {"id": USER, "display_name": "Ada"}
    return {
        "auth": {"type": "auth", "access_token": "eyJhbGciOiJIUzI1NiJ9.e30.sig"},
        "subscribe": {"type": "subscribe", "room": ROOM, "after_seq": 7},
        "send": {"type": "send", "room": ROOM, "client_id": CLIENT, "body": "hi **there**\nsecond line"},
        "ready": {"type": "ready", "user": author},
        "message": {
            "type": "message", "room": ROOM, "id": MESSAGE, "seq": 9, "author": author,
            "body": "<b>not markup</b>", "sent_at": 1700000000000,
        },
        "ack": {"type": "ack", "client_id": CLIENT, "id": MESSAGE, "seq": 9},
        "error": {"type": "error", "error": "rate_limited", "message": "slow down", "client_id": CLIENT},
    }


def rest_bodies():
    return {
        "register": {"site": "demo", "email": "ada@example.com", "return_to": "https://host.example/chat"},
        "complete-sign-up": {"site": "demo", "token": "a" * 64, "display_name": "Ada", "password": "correct horse battery"},
        "login": {"site": "demo", "email": "ada@example.com", "password": "correct horse battery"},
        "session": {"site": "demo"},
        "change-password": {"current_password": "correct horse battery", "new_password": "staple staple staple"},
        "forgot-password": {"site": "demo", "email": "ada@example.com", "return_to": "https://host.example/"},
        "reset-password": {"site": "demo", "token": "b" * 64, "new_password": "staple staple staple"},
        "mfa-verify": {"site": "demo", "ticket": "c" * 64, "code": "123456"},
        "totp-confirm": {"code": "123456"},
        "reauth": {"password": "correct horse battery"},
        "history-query": {"before": 10, "limit": 50},
        "token-response": {"access_token": "t", "token_type": "Bearer", "expires_in": 600},
        "room-list": {"rooms": [{"id": ROOM, "name": "general", "kind": "channel", "last_seq": 3}]},
        "error-body": {"error": "validation_failed", "message": "body must not be empty"},
        "session-list": {"sessions": [{
            "id": SESSION, "device": "Firefox", "network": None, "created_at": 1, "last_used_at": 2, "current": True,
        }]},
    }


MARKUP = {
    "plain": "hello <b>world</b> & co",
    "rich": "**Hi** _all_,\nsee [the docs](https://docs.example/a_(b)) and `code`\n\n```rust\nlet x = 1;\n```\nbye",
    "autolinks": "go to https://example.com/x_y. Or (http://a.example/b)! mailto:ada@example.com",
    "hostile-links": "[x](javascript:alert(1)) [y](data:text/html,hi) [z](//evil.example) java\tscript:x",
    "nesting": "***a*** *b **c _d_ c** b* snake_case_name 2 * 3",
    "code-spans": "``a ` b`` ` `` ` ```one line```",
}


def access_token():
    header = compact({"alg": "HS256", "typ": "at+jwt", "kid": KID})
    claims = {"iss": ISSUER, "aud": "palisade-api", "sub": USER, "site": "demo", "sid": SESSION,
              "iat": 1000000000, "exp": 1000000600, "jti": "x"}
    live = dict(claims, iat=1700000000, exp=4102444800)
    none_header = compact({"alg": "none", "typ": "at+jwt", "kid": KID})
    return {
        # Mode 0 (even first byte): strings that must never verify.
        "expired": b"\x00" + signed_token(header, compact(claims)).encode(),
        "alg-none": b"\x00" + f"{b64url(none_header.encode())}.{b64url(compact(live).encode())}.".encode(),
        "refresh-token": b"\x00" + ("0123456789abcdef" * 4).encode(),
        # Mode 1 (odd first byte): header and claims that the target signs itself.
        "signed-live": b"\x01" + f"{header}\n{compact(live)}".encode(),
        "signed-other-issuer": b"\x01" + f"{header}\n{compact(dict(live, iss='https://evil.example'))}".encode(),
    }


def vault_open():
    nonce = bytes(24)
    tag = bytes(16)
    sealed = lambda version, key_id, body: bytes([version]) + key_id.to_bytes(4, "big") + nonce + body + tag
    return {
        # Mode 0: sealed values naming the active (3), decrypt-only (2), retired (1) and an unknown key.
        "active-key": b"\x00" + sealed(1, 3, b"hello"),
        "decrypt-only-key": b"\x00" + sealed(1, 2, b""),
        "retired-key": b"\x00" + sealed(1, 1, b"x"),
        "unknown-key": b"\x00" + sealed(1, 9, b"x"),
        "unknown-version": b"\x00" + sealed(2, 3, b"x"),
        # Mode 1: four bytes of alteration, then the plaintext.
        "seal-and-flip": b"\x01" + bytes([5, 1, 0, 0]) + b"a message body",
        "seal-and-cut": b"\x01" + bytes([0, 0, 3, 0]) + b"",
        # Mode 2: a stored wrapped data key ([version 1][nonce 24][key 32 + tag 16]).
        "wrapped-key": b"\x02" + b"\x01" + nonce + bytes(48),
    }


DICTIONARIES = {
    "ws_frame": ['"type"', '"auth"', '"subscribe"', '"send"', '"room"', '"after_seq"', '"client_id"', '"body"',
                 '"access_token"', '"ready"', '"message"', '"ack"', '"error"', f'"{ROOM}"'],
    "rest_bodies": ['"site"', '"email"', '"password"', '"display_name"', '"return_to"', '"token"', '"code"',
                    '"ticket"', '"new_password"', '"current_password"', '"before"', '"after"', '"limit"', '"demo"'],
    "markup": ["**", "```", "`", "_", "[", "](", ")", "http://", "https://", "mailto:", "javascript:", "data:",
               "\\x0a", "\\x0a\\x0a"],
    "access_token": ['"alg"', '"HS256"', '"none"', '"typ"', '"at+jwt"', '"kid"', f'"{KID}"', '"iss"', '"aud"',
                     '"palisade-api"', '"exp"', '"iat"', '"sub"', '"sid"', '"site"', '"jti"', f'"{ISSUER}"'],
}


def write_corpus(target, seeds):
    folder = FUZZ / "corpus" / target
    if folder.exists():
        for old in folder.glob("seed-*"):
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for name, seed in seeds.items():
        data = seed if isinstance(seed, bytes) else (seed if isinstance(seed, str) else compact(seed)).encode()
        (folder / f"seed-{name}").write_bytes(data)


def main():
    write_corpus("ws_frame", ws_frame())
    write_corpus("rest_bodies", rest_bodies())
    write_corpus("markup", MARKUP)
    write_corpus("access_token", access_token())
    write_corpus("vault_open", vault_open())
    dict_dir = FUZZ / "dict"
    shutil.rmtree(dict_dir, ignore_errors=True)
    dict_dir.mkdir()
    for target, words in DICTIONARIES.items():
        lines = ['"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' if not w.startswith("\\x") else f'"{w}"'
                 for w in words]
        (dict_dir / f"{target}.dict").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
