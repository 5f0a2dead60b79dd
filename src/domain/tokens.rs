//! Bearer tokens: 256 random bits shown once, kept only as a SHA-256 hash.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const TOKEN_PREFIX: &str = "es_";

/// A new random token, and the hash to store.
pub fn new_token() -> (String, String) {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let hash = hash_token(&token);
    (token, hash)
}

/// Tokens carry 256 bits of randomness, so a plain (fast) hash is enough: there is
/// nothing to brute-force, and a stolen table reveals no usable token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(a.len() >= 3 + 43);
        assert_eq!(hash_token(&a), hash_a);
        assert!(!hash_a.contains(&a));
    }
}
