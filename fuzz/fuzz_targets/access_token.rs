//! Access-token verification and refresh-token hashing on hostile strings.
//!
//! The first input byte picks a mode: a raw string, which must never verify (nothing here can
//! forge the signature), or a header and claims (split at the first newline) that this target
//! signs with the real key, so hostile claims reach the checks behind the signature: whatever
//! verifies must carry this server's issuer and audience and not be expired.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use palisade_auth::access_token::{AUDIENCE, AccessTokens};
use palisade_auth::opaque_token;

/// The seed corpus (fuzz/seeds.py) is signed with the same key and names it by the same `kid`.
const KEY: [u8; 32] = [7; 32];
const ISSUER: &str = "https://chat.example";

fn tokens() -> &'static AccessTokens {
    static TOKENS: OnceLock<AccessTokens> = OnceLock::new();
    TOKENS.get_or_init(|| AccessTokens::new(&KEY, ISSUER, Duration::from_secs(600)).expect("a 32-byte key is enough"))
}

fn sign(header: &str, claims: &str) -> String {
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(&KEY), Algorithm::HS256)
        .expect("HMAC signing does not fail");
    format!("{message}.{signature}")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);

    if let Some(hash) = opaque_token::hash(&text) {
        assert!(text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()), "hashed a malformed token");
        assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    if mode % 2 == 0 {
        assert!(tokens().verify(&text).is_err(), "an unsigned string verified: {text:?}");
        return;
    }
    let (header, claims) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(verified) = tokens().verify(&sign(header, claims)) {
        assert_eq!(verified.iss, ISSUER);
        assert_eq!(verified.aud, AUDIENCE);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        assert!(verified.exp + 5 >= now, "an expired token verified");
        assert!(header.contains("at+jwt"), "a token without the access-token type verified");
    }
});
