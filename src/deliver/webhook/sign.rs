//! Webhook signatures: `X-Kvaudit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<body>"` with the channel's signing key.
//!
//! The timestamp is inside the signed bytes, so a receiver that checks the signature and
//! refuses timestamps older than a few minutes refuses a replayed request: an attacker who
//! captured one cannot change its time without the key. Receivers verify with
//! [`verify`] (or its few lines in another language: README "Webhooks").

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Kvaudit-Signature";

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=...,v1=...`.
    #[error("malformed signature header")]
    Malformed,
    /// The HMAC does not match the body and timestamp: altered, or another key.
    #[error("signature does not match the body")]
    Mismatch,
    /// The timestamp is further from now than the tolerance: a replay, or a skewed clock.
    #[error("signature timestamp {age_seconds}s away from now, beyond the tolerance")]
    Stale { age_seconds: i64 },
}

fn mac(key: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `now`.
pub fn sign(key: &[u8], now: DateTime<Utc>, body: &[u8]) -> String {
    let t = now.timestamp();
    let digest = mac(key, t, body).finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Checks a header value against `body`, refusing timestamps more than `tolerance_seconds`
/// from `now`. The comparison of MACs takes constant time.
pub fn verify(
    key: &[u8],
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", hex)) => signatures.push(decode_hex(hex).ok_or(SignatureError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // A key rotation may send two v1 values; one matching is enough.
    if !signatures.iter().any(|sig| mac(key, timestamp, body).verify_slice(sig).is_ok()) {
        return Err(SignatureError::Mismatch);
    }
    let age = now.timestamp() - timestamp;
    if age.abs() > tolerance_seconds {
        return Err(SignatureError::Stale { age_seconds: age });
    }
    Ok(())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn a_signature_verifies_and_a_tampered_body_or_an_old_timestamp_does_not() {
        let now = Utc.with_ymd_and_hms(2026, 10, 23, 14, 0, 0).unwrap();
        let body = br#"{"id":"abc","kind":"new_ip"}"#;
        let header = sign(b"key-1", now, body);
        assert!(header.starts_with(&format!("t={},v1=", now.timestamp())), "{header}");
        assert_eq!(verify(b"key-1", &header, body, now + Duration::seconds(30), 300), Ok(()));
        assert_eq!(
            verify(b"key-1", &header, br#"{"id":"abd","kind":"new_ip"}"#, now, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(b"key-2", &header, body, now, 300), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(b"key-1", &header, body, now + Duration::minutes(10), 300),
            Err(SignatureError::Stale { age_seconds: 600 })
        );
        // Moving the timestamp forward to pass the age check breaks the MAC.
        let later = now + Duration::minutes(10);
        let replayed = header.replace(&now.timestamp().to_string(), &later.timestamp().to_string());
        assert_eq!(verify(b"key-1", &replayed, body, later, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"key-1", "v1=00", body, now, 300), Err(SignatureError::Malformed));
        assert_eq!(verify(b"key-1", "t=1,v1=zz", body, now, 300), Err(SignatureError::Malformed));
    }
}
