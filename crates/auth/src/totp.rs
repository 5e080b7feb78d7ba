//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, 6 digits, 30-second
//! steps, one step of clock drift either way. The secret is 160 bits from the OS generator, as
//! RFC 4226 recommends and every authenticator app accepts.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub const SECRET_BYTES: usize = 20;
pub const STEP_SECS: u64 = 30;
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the server's own (server time is the reference).
pub const DRIFT_STEPS: u64 = 1;

/// A TOTP secret. Only the vault-sealed form is ever stored.
pub struct TotpSecret(Zeroizing<[u8; SECRET_BYTES]>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0_u8; SECRET_BYTES]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self(bytes)
    }

    /// From stored bytes; `None` unless exactly [`SECRET_BYTES`] long.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut secret = Zeroizing::new([0_u8; SECRET_BYTES]);
        if bytes.len() != SECRET_BYTES {
            return None;
        }
        secret.copy_from_slice(bytes);
        Some(Self(secret))
    }

    pub fn expose_bytes(&self) -> &[u8; SECRET_BYTES] {
        &self.0
    }

    /// The secret as authenticator apps take it when typed in: RFC 4648 base32, no padding.
    pub fn base32(&self) -> String {
        base32(self.0.as_ref())
    }

    /// From the base32 text [`TotpSecret::base32`] shows (what a person types into an app);
    /// `None` unless it is exactly such a secret.
    pub fn from_base32(text: &str) -> Option<Self> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(SECRET_BYTES));
        let (mut buffer, mut bits) = (0_u32, 0_u32);
        for c in text.trim().bytes() {
            let value = u32::try_from(BASE32_ALPHABET.iter().position(|&a| a == c)?).ok()?;
            buffer = ((buffer << 5) | value) & 0xffff;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                bytes.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
            }
        }
        Self::from_bytes(&bytes)
    }

    /// The `otpauth://` URI a QR code carries.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let (issuer, account) = (percent_encode(issuer), percent_encode(account));
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            self.base32()
        )
    }

    /// The code for time step `step` (Unix seconds / 30).
    pub fn code_at(&self, step: u64) -> u32 {
        // HMAC takes keys of any length, so this cannot fail; an empty MAC would only yield a
        // code no one can match.
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(self.0.as_ref()) else { return u32::MAX };
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[19] & 0x0f);
        let binary =
            u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
        binary % 10_u32.pow(DIGITS)
    }

    /// The time step `code` matches at `now_secs` (within the drift window), if any. The
    /// caller must then record that step as used so the code cannot be replayed.
    pub fn matching_step(&self, code: &str, now_secs: u64) -> Option<u64> {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = now_secs / STEP_SECS;
        let mut found = None;
        // Every candidate is computed and compared in constant time, so timing says nothing
        // about which step (if any) matched.
        for step in now.saturating_sub(DRIFT_STEPS)..=now + DRIFT_STEPS {
            let expected = format!("{:0width$}", self.code_at(step), width = DIGITS as usize);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                found = Some(step);
            }
        }
        found
    }
}

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = BASE32_ALPHABET;
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0_u32, 0_u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A QR code as rows of dark (true) and light modules, for the widget to draw as SVG without
/// any markup crossing the wire.
pub fn qr_rows(text: &str) -> Option<Vec<Vec<bool>>> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    Some(colors.chunks(width).map(|row| row.iter().map(|c| *c == qrcode::Color::Dark).collect()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        // The RFC lists 8-digit codes; ours are their last 6 digits.
        for (time, eight) in
            [(59_u64, 94287082_u32), (1111111109, 7081804), (1234567890, 89005924), (2000000000, 69279037)]
        {
            assert_eq!(rfc_secret().code_at(time / STEP_SECS), eight % 1_000_000, "t={time}");
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted_and_no_more() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let step = now / STEP_SECS;
        let code = |s: u64| format!("{:06}", secret.code_at(s));
        assert_eq!(secret.matching_step(&code(step), now), Some(step));
        assert_eq!(secret.matching_step(&code(step - 1), now), Some(step - 1));
        assert_eq!(secret.matching_step(&code(step + 1), now), Some(step + 1));
        assert_eq!(secret.matching_step(&code(step - 2), now), None);
        assert_eq!(secret.matching_step(&code(step + 2), now), None);
        for malformed in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(secret.matching_step(malformed, now), None, "{malformed:?}");
        }
    }

    #[test]
    fn the_secret_is_160_random_bits_shown_as_base32() {
        let a = TotpSecret::generate();
        assert_ne!(a.expose_bytes(), TotpSecret::generate().expose_bytes());
        assert_eq!(a.base32().len(), 32);
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI", "RFC 4648 test vector without padding");
        assert_eq!(format!("{a:?}"), "TotpSecret(..)");
        let typed = TotpSecret::from_base32(&a.base32()).unwrap();
        assert_eq!(typed.expose_bytes(), a.expose_bytes());
        assert!(TotpSecret::from_base32("GEZDGNBV").is_none(), "too short");
        assert!(TotpSecret::from_base32(&format!("1{}", &a.base32()[1..])).is_none(), "not base32");
        let uri = rfc_secret().otpauth_uri("Acme Chat", "ada@example.org");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Chat:ada%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Chat\
             &algorithm=SHA1&digits=6&period=30"
        );
        let rows = qr_rows(&uri).unwrap();
        assert!(rows.len() >= 21 && rows.iter().all(|r| r.len() == rows.len()));
    }
}
