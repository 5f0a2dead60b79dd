//! Signed RSVP links. A token names one enrollment, one occurrence and one answer, and
//! carries an HMAC-SHA-256 of them under the service's secret key: it cannot be forged,
//! nor turned into an answer for another participant or another occurrence.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::DateTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::schedule::OccurrenceKey;

type HmacSha256 = Hmac<Sha256>;

/// A participant's answer for one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum Answer {
    Coming,
    /// "I can't come": their place goes to someone else that time.
    NotComing,
}

super::text_enum!(Answer {
    Coming = "coming",
    NotComing = "not_coming",
});

impl Answer {
    fn byte(self) -> u8 {
        match self {
            Self::Coming => 1,
            Self::NotComing => 2,
        }
    }
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rsvp {
    pub enrollment_id: Uuid,
    pub occurrence: OccurrenceKey,
    pub answer: Answer,
}

const BODY: usize = 16 + 8 + 1;
const MAC: usize = 32;

/// Signs and checks tokens with one secret key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(…)")
    }
}

impl Signer {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length.
        HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length")
    }

    /// A 256-bit secret for `purpose` and `id` that only this key can produce: what a
    /// sign-in link carries, so the database never holds a usable token.
    pub fn derive(&self, purpose: &str, id: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(id);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The secret a sign-in link carries (`/login/{token}`).
    pub fn sign_in_token(&self, link_id: Uuid) -> String {
        self.derive("sign-in link", link_id.as_bytes())
    }

    pub fn sign(&self, rsvp: &Rsvp) -> String {
        let mut bytes = Vec::with_capacity(BODY + MAC);
        bytes.extend_from_slice(rsvp.enrollment_id.as_bytes());
        bytes.extend_from_slice(&rsvp.occurrence.original_start().timestamp().to_be_bytes());
        bytes.push(rsvp.answer.byte());
        let mut mac = self.mac();
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The RSVP a token carries, if it was signed with this key.
    pub fn verify(&self, token: &str) -> Option<Rsvp> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if bytes.len() != BODY + MAC {
            return None;
        }
        let (body, tag) = bytes.split_at(BODY);
        let mut mac = self.mac();
        mac.update(body);
        mac.verify_slice(tag).ok()?;
        let enrollment_id = Uuid::from_slice(&body[..16]).ok()?;
        let seconds = i64::from_be_bytes(body[16..24].try_into().ok()?);
        let answer = match body[24] {
            1 => Answer::Coming,
            2 => Answer::NotComing,
            _ => return None,
        };
        Some(Rsvp {
            enrollment_id,
            occurrence: OccurrenceKey::new(DateTime::from_timestamp(seconds, 0)?),
            answer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Rsvp {
        Rsvp {
            enrollment_id: Uuid::new_v4(),
            occurrence: "20260310T173000Z".parse().unwrap(),
            answer: Answer::NotComing,
        }
    }

    #[test]
    fn a_signed_token_reads_back() {
        let signer = Signer::new(b"0123456789abcdef0123456789abcdef");
        let rsvp = sample();
        assert_eq!(signer.verify(&signer.sign(&rsvp)), Some(rsvp));
    }

    #[test]
    fn another_key_or_any_changed_byte_is_refused() {
        let signer = Signer::new(b"0123456789abcdef0123456789abcdef");
        let token = signer.sign(&sample());
        assert_eq!(Signer::new(b"another key").verify(&token), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            assert_eq!(
                signer.verify(&URL_SAFE_NO_PAD.encode(&bytes)),
                None,
                "byte {i}"
            );
            bytes[i] ^= 1;
        }
        assert_eq!(signer.verify("not a token"), None);
        assert_eq!(signer.verify(""), None);
    }
}
