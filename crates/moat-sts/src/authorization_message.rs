//! Encoded authorization failure messages, as some AWS services attach to `AccessDenied`
//! ("Encoded authorization failure message: ..."), and their decoding for
//! `DecodeAuthorizationMessage`.
//!
//! A message is sealed with the session token keys (so any node can read it back) and bound to
//! its purpose; its content is what AWS's decoded messages hold: the decision, the principal,
//! the action, the resource and the request's condition keys. IAM, STS and CloudTrail never
//! attach such messages to their denials, in AWS as in Moat; services that do will encode with
//! [`encode`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::token::{TokenError, TokenKeys};

const PURPOSE: &[u8] = b"moat.authorization-message";

/// A list as AWS's decoded messages write it: `{"items": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePrincipal {
    pub id: String,
    pub arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionValue {
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionEntry {
    pub key: String,
    pub values: Items<ConditionValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContext {
    pub principal: MessagePrincipal,
    pub action: String,
    pub resource: String,
    pub conditions: Items<ConditionEntry>,
}

/// The decoded message, in AWS's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationMessage {
    pub allowed: bool,
    pub explicit_deny: bool,
    pub matched_statements: Items<serde_json::Value>,
    pub failures: Items<serde_json::Value>,
    pub context: MessageContext,
}

/// What is sealed: the message and the account it may be decoded in.
#[derive(Serialize, Deserialize)]
struct Sealed {
    account: String,
    message: AuthorizationMessage,
}

/// Seals a message for callers of `account`.
pub fn encode(
    keys: &TokenKeys,
    account: &str,
    message: &AuthorizationMessage,
    now: OffsetDateTime,
) -> Result<String, TokenError> {
    let body = serde_json::to_vec(&Sealed {
        account: account.to_owned(),
        message: message.clone(),
    })
    .map_err(|e| TokenError::Sealing(e.to_string()))?;
    keys.seal(PURPOSE, &body, now)
}

/// The decoded message as AWS returns it (JSON), for a caller of `account`; `None` for
/// anything this deployment did not encode, or encoded for another account.
pub fn decode(keys: &TokenKeys, account: &str, encoded: &str) -> Option<String> {
    let plain = keys.unseal(PURPOSE, encoded).ok()?;
    let sealed: Sealed = serde_json::from_slice(&plain).ok()?;
    if sealed.account != account {
        return None;
    }
    serde_json::to_string(&sealed.message).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_store::{RootKey, Store};

    fn message() -> AuthorizationMessage {
        AuthorizationMessage {
            allowed: false,
            explicit_deny: true,
            matched_statements: Items::default(),
            failures: Items::default(),
            context: MessageContext {
                principal: MessagePrincipal {
                    id: "AIDAEXAMPLE".to_owned(),
                    arn: "arn:aws:iam::123456789012:user/bob".to_owned(),
                },
                action: "ec2:RunInstances".to_owned(),
                resource: "arn:aws:ec2:us-east-1:123456789012:instance/*".to_owned(),
                conditions: Items {
                    items: vec![ConditionEntry {
                        key: "aws:SourceIp".to_owned(),
                        values: Items {
                            items: vec![ConditionValue {
                                value: "10.0.0.1".to_owned(),
                            }],
                        },
                    }],
                },
            },
        }
    }

    #[test]
    fn messages_decode_in_their_account_only() {
        let store = Store::open_in_memory(RootKey::from_bytes(&[4u8; 32]).unwrap()).unwrap();
        let keys = TokenKeys::new(store);
        let now = OffsetDateTime::now_utc();
        let encoded = encode(&keys, "123456789012", &message(), now).unwrap();
        let decoded = decode(&keys, "123456789012", &encoded).unwrap();
        let value: serde_json::Value = serde_json::from_str(&decoded).unwrap();
        assert_eq!(value["allowed"], false);
        assert_eq!(value["explicitDeny"], true);
        assert_eq!(value["context"]["action"], "ec2:RunInstances");
        assert_eq!(
            value["context"]["conditions"]["items"][0]["values"]["items"][0]["value"],
            "10.0.0.1"
        );
        assert!(decode(&keys, "210987654321", &encoded).is_none());
        assert!(decode(&keys, "123456789012", "garbage").is_none());
        // A session token is not an authorization message, nor the reverse.
        assert!(keys.open("ASIAEXAMPLE000000001", &encoded).is_err());
    }
}
