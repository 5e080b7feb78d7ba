//! The PKCE pair (RFC 7636) of a provider sign-in. Only the challenge leaves the widget, on
//! the popup's URL; the verifier stays in wasm memory until the one-time code the popup posts
//! is redeemed with it, so a code read by anyone else (another window, a log) is useless.

use wasm_bindgen_futures::JsFuture;

/// 32 random bytes: 256 bits, and 43 characters once encoded, the least RFC 7636 allows.
const VERIFIER_BYTES: usize = 32;

/// `Debug` is redacted: the verifier must not reach a log line.
pub struct Pkce {
    verifier: String,
    challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce").field("challenge", &self.challenge).finish_non_exhaustive()
    }
}

impl Pkce {
    /// A fresh verifier and its S256 challenge. `None` when the browser has no Web Crypto
    /// here: `crypto.subtle` exists only in secure contexts (https, or localhost).
    pub async fn generate() -> Option<Self> {
        let crypto = web_sys::window()?.crypto().ok()?;
        let mut random = [0_u8; VERIFIER_BYTES];
        crypto.get_random_values_with_u8_array(&mut random).ok()?;
        let verifier = base64url(&random);
        let digest = crypto.subtle().digest_with_str_and_u8_array("SHA-256", verifier.as_bytes()).ok()?;
        let digest = JsFuture::from(digest).await.ok()?;
        let challenge = base64url(&js_sys::Uint8Array::new(&digest).to_vec());
        Some(Self { verifier, challenge })
    }

    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// Given up for the exchange: a verifier is good for one sign-in only.
    pub fn into_verifier(self) -> String {
        self.verifier
    }
}

/// Base64url without padding (RFC 4648 §5), as PKCE wants it.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // One input byte makes two characters, two make three, three make four.
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64url;

    /// RFC 7636, appendix B: the verifier's octets, and the SHA-256 of the verifier.
    #[test]
    fn encodes_the_rfc_7636_example() {
        let random = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191,
            240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        assert_eq!(base64url(&random), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let digest = [
            19, 211, 30, 150, 26, 26, 216, 236, 47, 22, 177, 12, 76, 152, 46, 8, 118, 168, 120, 173, 109, 241, 68, 86,
            110, 225, 137, 74, 203, 112, 249, 195,
        ];
        assert_eq!(base64url(&digest), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn pads_nothing() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
