//! Opaque page tokens: the sort key of the last item served, bound to one query.
//!
//! A token carries a fingerprint of the collection, filter and order it was made for, and a
//! checksum over its content. A token edited by hand, or sent with another query, is refused.
//! The checksum guards against accidents and tampering with a cursor's shape, not against a
//! client that forges a cursor for its own query: that only reads data the client may read.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::value::Value;

const CHECKSUM_LEN: usize = 12;
const KEY: &[u8] = b"pairing-aid page token v1";

/// Where the next page starts: after the item with this sort key.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Fingerprint of the query the token belongs to.
    #[serde(rename = "q")]
    pub query: String,
    /// The sort key of the last item already served.
    #[serde(rename = "k")]
    pub after: Vec<Value>,
}

/// The fingerprint of one listing query.
pub fn fingerprint(collection: &str, filter: &str, order_by: &str) -> String {
    let digest = Sha256::new()
        .chain_update(collection)
        .chain_update([0])
        .chain_update(filter)
        .chain_update([0])
        .chain_update(order_by)
        .finalize();
    hex(&digest[..8])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn checksum(payload: &[u8]) -> Vec<u8> {
    Sha256::new()
        .chain_update(KEY)
        .chain_update(payload)
        .finalize()[..CHECKSUM_LEN]
        .to_vec()
}

/// Encodes a cursor as an opaque token.
pub fn encode(cursor: &Cursor) -> String {
    let payload = serde_json::to_vec(cursor).expect("a cursor always serializes");
    let mut bytes = checksum(&payload);
    bytes.extend_from_slice(&payload);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a token made by `encode` for the query with fingerprint `query`.
pub fn decode(token: &str, query: &str) -> Result<Cursor, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| "page token is not one this service issued".to_owned())?;
    if bytes.len() <= CHECKSUM_LEN || checksum(&bytes[CHECKSUM_LEN..]) != bytes[..CHECKSUM_LEN] {
        return Err("page token is corrupt or was not issued by this service".into());
    }
    let cursor: Cursor = serde_json::from_slice(&bytes[CHECKSUM_LEN..])
        .map_err(|_| "page token is corrupt".to_owned())?;
    if cursor.query != query {
        return Err("page token belongs to another query; send the same filter and order_by as the first page".into());
    }
    Ok(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering_or_other_queries() {
        let query = fingerprint("projects", "year > 2015", "");
        let cursor = Cursor {
            query: query.clone(),
            after: vec![Value::text("projects/p-1")],
        };
        let token = encode(&cursor);
        assert_eq!(decode(&token, &query).unwrap(), cursor);

        let other = fingerprint("projects", "year > 2016", "");
        assert!(
            decode(&token, &other)
                .unwrap_err()
                .contains("another query")
        );

        let mut tampered = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let last = tampered.len() - 3;
        tampered[last] ^= 1;
        assert!(decode(&URL_SAFE_NO_PAD.encode(tampered), &query).is_err());
        assert!(decode("not a token!", &query).is_err());
    }
}

#[cfg(test)]
mod robustness {
    use super::*;

    /// Random and mutated tokens are refused with a message, never a panic.
    #[test]
    fn random_and_mutated_tokens_are_refused_cleanly() {
        let query = fingerprint("projects", "", "");
        let valid = encode(&Cursor {
            query: query.clone(),
            after: vec![Value::text("projects/a")],
        });
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let mut bytes = valid.clone().into_bytes();
            match round % 3 {
                0 => {
                    let at = next() as usize % bytes.len();
                    bytes[at] = b"AZaz09-_=+/!"[next() as usize % 12];
                }
                1 => bytes.truncate(next() as usize % bytes.len()),
                _ => bytes = (0..next() % 64).map(|_| (next() % 256) as u8).collect(),
            }
            let token = String::from_utf8_lossy(&bytes);
            if token != valid {
                assert!(decode(&token, &query).is_err(), "{token:?}");
            }
        }
    }
}
