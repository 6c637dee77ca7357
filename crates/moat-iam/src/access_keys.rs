//! Long-term access keys (AKIA...) of IAM users and of the account's root user.
//!
//! A key lives in the global account keyed by its id, so authentication finds it without
//! knowing the account; its secret is sealed under the root key (SigV4 needs it back, so it
//! cannot be hashed). A user's keys are also indexed in the account under `user_lc/AKIA...`.
//! The secret appears exactly once, in the CreateAccessKey response, and nowhere else: not in
//! errors, not in logs.

use moat_store::{Reader, Writer, GLOBAL};
use moat_types::{new_secret_access_key, new_unique_id, IdKind, PrincipalKind};
use moat_wire::Sensitive;

use crate::common::{paginate_vec, timestamp, Call};
use crate::records::{access_key_purpose, name_key, AccessKeyRecord, UserAccessKeyRecord};
use crate::{
    auth, users, AccessKey, AccessKeyLastUsed, AccessKeyMetadata, CreateAccessKeyRequest,
    CreateAccessKeyResponse, DeleteAccessKeyRequest, GetAccessKeyLastUsedRequest,
    GetAccessKeyLastUsedResponse, IamError, ListAccessKeysRequest, ListAccessKeysResponse,
    UpdateAccessKeyRequest,
};

/// IAM's quota of access keys per user (the root user included).
pub const MAX_KEYS_PER_USER: usize = 2;

/// The user name IAM reports for keys that belong to the account's root user.
const ROOT_USER_NAME: &str = "root";

/// Whose keys a call is about: an IAM user (by stored name) or the root user.
enum Owner {
    User(String),
    Root,
}

impl Owner {
    /// The user named in the request, or the caller when no name is given (root included).
    fn resolve(tx: &impl Reader, c: &Call<'_>, given: Option<&str>) -> Result<Owner, IamError> {
        // Exhaustive on purpose: a new kind of principal (an assumed role, say) must decide
        // here whose keys a name-less call means; IAM answers such callers with a
        // ValidationError ("Must specify userName when calling with non-User credentials").
        let name = match (given, &c.principal.kind) {
            (Some(name), _) => name,
            (None, PrincipalKind::User { name, .. }) => name.as_str(),
            (None, PrincipalKind::Root) => return Ok(Owner::Root),
            (None, PrincipalKind::AssumedRole { .. } | PrincipalKind::WebIdentity { .. }) => {
                return Err(crate::common::non_user_credentials())
            }
        };
        Ok(Owner::User(users::require(tx, c.account, name)?.name))
    }

    fn wire_name(&self) -> &str {
        match self {
            Owner::User(name) => name,
            Owner::Root => ROOT_USER_NAME,
        }
    }

    /// The owner's keys, oldest first.
    fn keys(&self, tx: &impl Reader, c: &Call<'_>) -> Result<Vec<AccessKeyRecord>, IamError> {
        let mut keys = match self {
            Owner::Root => auth::root_access_keys(tx, c.account)?,
            Owner::User(name) => {
                let mut out = Vec::new();
                let index = tx.all::<UserAccessKeyRecord>(
                    &c.account_key(),
                    &format!("{}/", name_key(name)),
                )?;
                for (_, k) in index {
                    if let Some(key) = tx.get::<AccessKeyRecord>(GLOBAL, &k.access_key_id)? {
                        out.push(key);
                    }
                }
                out
            }
        };
        keys.sort_by(|a, b| {
            (a.create_date, &a.access_key_id).cmp(&(b.create_date, &b.access_key_id))
        });
        Ok(keys)
    }

    /// One of the owner's keys; IAM answers the same for a key that does not exist and for a
    /// key that belongs to someone else.
    fn key(
        &self,
        tx: &impl Reader,
        c: &Call<'_>,
        access_key_id: &str,
    ) -> Result<AccessKeyRecord, IamError> {
        let not_found = || {
            IamError::NoSuchEntity(format!(
                "The Access Key with id {access_key_id} cannot be found."
            ))
        };
        let key = tx
            .get::<AccessKeyRecord>(GLOBAL, access_key_id)?
            .ok_or_else(not_found)?;
        let owned = key.account == c.account_key()
            && match (self, &key.user_name) {
                (Owner::Root, None) => true,
                (Owner::User(name), Some(owner)) => name_key(name) == name_key(owner),
                _ => false,
            };
        if owned {
            Ok(key)
        } else {
            Err(not_found())
        }
    }
}

fn metadata(k: &AccessKeyRecord) -> AccessKeyMetadata {
    AccessKeyMetadata {
        access_key_id: Some(k.access_key_id.clone()),
        create_date: Some(timestamp(k.create_date)),
        status: Some(k.status.clone()),
        user_name: Some(
            k.user_name
                .clone()
                .unwrap_or_else(|| ROOT_USER_NAME.to_owned()),
        ),
    }
}

pub fn create_access_key(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateAccessKeyRequest,
) -> Result<CreateAccessKeyResponse, IamError> {
    let owner = Owner::resolve(tx, c, i.user_name.as_deref())?;
    if owner.keys(tx, c)?.len() >= MAX_KEYS_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
        )));
    }
    let id = fresh_key_id(tx)?;
    let secret = zeroize::Zeroizing::new(new_secret_access_key());
    let sealed_secret = c
        .root_key
        .seal(&access_key_purpose(&id), secret.as_bytes())
        .map_err(|e| IamError::Store(e.into()))?;
    let record = AccessKeyRecord {
        access_key_id: id.clone(),
        account: c.account_key(),
        user_name: match &owner {
            Owner::User(name) => Some(name.clone()),
            Owner::Root => None,
        },
        status: "Active".to_owned(),
        create_date: c.now_ms(),
        sealed_secret,
        last_used: None,
    };
    tx.put(GLOBAL, &id, &record)?;
    if let Owner::User(name) = &owner {
        tx.put(
            &c.account_key(),
            &format!("{}/{id}", name_key(name)),
            &UserAccessKeyRecord {
                access_key_id: id.clone(),
            },
        )?;
    }
    Ok(CreateAccessKeyResponse {
        access_key: AccessKey {
            access_key_id: id,
            create_date: Some(timestamp(record.create_date)),
            secret_access_key: Sensitive(secret.to_string()),
            status: record.status,
            user_name: owner.wire_name().to_owned(),
        },
    })
}

/// A key id no key (of any account) has: ids are random, so a clash is unlikely but possible.
fn fresh_key_id(tx: &impl Reader) -> Result<String, IamError> {
    for _ in 0..8 {
        let id = new_unique_id(IdKind::AccessKey);
        if !tx.exists::<AccessKeyRecord>(GLOBAL, &id)? {
            return Ok(id);
        }
    }
    Err(IamError::Internal(
        "could not draw an unused access key id".to_owned(),
    ))
}

pub fn list_access_keys(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListAccessKeysRequest,
) -> Result<ListAccessKeysResponse, IamError> {
    let owner = Owner::resolve(tx, c, i.user_name.as_deref())?;
    let all: Vec<AccessKeyMetadata> = owner.keys(tx, c)?.iter().map(metadata).collect();
    // At most two keys per owner: an in-memory page is enough.
    let (access_key_metadata, is_truncated, marker) =
        paginate_vec(all, i.marker.as_deref(), i.max_items)?;
    Ok(ListAccessKeysResponse {
        access_key_metadata,
        is_truncated: Some(is_truncated),
        marker,
    })
}

fn parse_status(status: &str) -> Result<&'static str, IamError> {
    match status {
        "Active" => Ok("Active"),
        "Inactive" => Ok("Inactive"),
        other => Err(IamError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'status' failed to satisfy \
             constraint: Member must satisfy enum value set: [Active, Inactive]"
        ))),
    }
}

pub fn update_access_key(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateAccessKeyRequest,
) -> Result<(), IamError> {
    let status = parse_status(&i.status)?;
    let owner = Owner::resolve(tx, c, i.user_name.as_deref())?;
    let mut key = owner.key(tx, c, &i.access_key_id)?;
    if key.status != status {
        key.status = status.to_owned();
        tx.put(GLOBAL, &key.access_key_id, &key)?;
    }
    Ok(())
}

pub fn delete_access_key(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteAccessKeyRequest,
) -> Result<(), IamError> {
    let owner = Owner::resolve(tx, c, i.user_name.as_deref())?;
    let key = owner.key(tx, c, &i.access_key_id)?;
    tx.delete::<AccessKeyRecord>(GLOBAL, &key.access_key_id)?;
    if let Owner::User(name) = &owner {
        tx.delete::<UserAccessKeyRecord>(
            &c.account_key(),
            &format!("{}/{}", name_key(name), key.access_key_id),
        )?;
    }
    Ok(())
}

pub fn get_access_key_last_used(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetAccessKeyLastUsedRequest,
) -> Result<GetAccessKeyLastUsedResponse, IamError> {
    // IAM never says whether a key id exists outside the caller's account: a missing key and
    // another account's key get the same AccessDenied.
    let key = tx
        .get::<AccessKeyRecord>(GLOBAL, &i.access_key_id)?
        .filter(|k| k.account == c.account_key())
        .ok_or_else(|| {
            IamError::AccessDenied(format!(
                "User: {} is not authorized to perform iam:GetAccessKeyLastUsed on resource: \
                 access key {}",
                c.principal.arn, i.access_key_id
            ))
        })?;
    let last_used = match &key.last_used {
        Some(used) => AccessKeyLastUsed {
            last_used_date: Some(timestamp(used.date)),
            service_name: used.service.clone(),
            region: used.region.clone(),
        },
        // A never-used key: no date, and "N/A" for where.
        None => AccessKeyLastUsed {
            last_used_date: None,
            service_name: "N/A".to_owned(),
            region: "N/A".to_owned(),
        },
    };
    Ok(GetAccessKeyLastUsedResponse {
        access_key_last_used: Some(last_used),
        user_name: Some(key.user_name.unwrap_or_else(|| ROOT_USER_NAME.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    use crate::records::{access_key_purpose, AccessKeyRecord};
    use crate::testing::{Env, ACCOUNT};
    use moat_store::{Reader as _, GLOBAL};
    use moat_types::{iam_arn, AccountId, Principal, PrincipalKind};
    use serde_json::json;

    fn user_principal(env: &Env, name: &str) -> Principal {
        let got = env.ok("GetUser", json!({"UserName": name}));
        Principal {
            account: env.root.account,
            kind: PrincipalKind::User {
                name: name.to_owned(),
                path: "/".to_owned(),
            },
            arn: got["User"]["Arn"].as_str().unwrap().to_owned(),
            id: got["User"]["UserId"].as_str().unwrap().to_owned(),
            access_key_id: "AKIAUSER".to_owned(),
            session: None,
        }
    }

    fn ids(v: &serde_json::Value) -> Vec<String> {
        v["AccessKeyMetadata"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["AccessKeyId"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn create_returns_the_secret_once_and_stores_it_sealed() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "alice"}));
        let out = env.ok("CreateAccessKey", json!({"UserName": "ALICE"}));
        let key = &out["AccessKey"];
        let id = key["AccessKeyId"].as_str().unwrap().to_owned();
        let secret = key["SecretAccessKey"].as_str().unwrap().to_owned();
        assert!(id.starts_with("AKIA") && id.len() == 20, "{id}");
        assert_eq!(secret.len(), 40);
        assert_eq!(key["Status"], "Active");
        assert_eq!(key["UserName"], "alice");
        assert!(key["CreateDate"].is_string() || key["CreateDate"].is_number());

        let stored = env
            .iam
            .store()
            .read(|tx| tx.get::<AccessKeyRecord>(GLOBAL, &id))
            .unwrap()
            .unwrap();
        assert_eq!(stored.account, ACCOUNT);
        assert_eq!(stored.user_name.as_deref(), Some("alice"));
        assert!(
            !stored
                .sealed_secret
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "the secret must not be stored in the clear"
        );
        let opened = env
            .iam
            .store()
            .root_key()
            .open(&access_key_purpose(&id), &stored.sealed_secret)
            .unwrap();
        assert_eq!(opened.as_slice(), secret.as_bytes());

        // Authentication finds it, for the right principal.
        let cred = crate::auth::lookup_access_key(env.iam.store(), &id)
            .unwrap()
            .unwrap();
        assert_eq!(cred.principal.arn, "arn:aws:iam::123456789012:user/alice");
        assert!(cred.active);

        // Listing never shows the secret.
        let listed = env.ok("ListAccessKeys", json!({"UserName": "alice"}));
        assert_eq!(ids(&listed), std::slice::from_ref(&id));
        assert!(listed["AccessKeyMetadata"][0]
            .get("SecretAccessKey")
            .is_none());
        assert_eq!(listed["AccessKeyMetadata"][0]["UserName"], "alice");
        assert_eq!(listed["IsTruncated"], json!(false));
    }

    #[test]
    fn secret_is_redacted_in_debug_output() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "alice"}));
        let r = env
            .call("CreateAccessKey", json!({"UserName": "alice"}))
            .unwrap();
        let secret = r.to_value().unwrap().unwrap()["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!format!("{r:?}").contains(&secret));
    }

    #[test]
    fn two_keys_per_user_at_most() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "u"}));
        env.ok("CreateAccessKey", json!({"UserName": "u"}));
        env.ok("CreateAccessKey", json!({"UserName": "u"}));
        let (code, msg) = env.err("CreateAccessKey", json!({"UserName": "u"}));
        assert_eq!(code, "LimitExceeded");
        assert_eq!(msg, "Cannot exceed quota for AccessKeysPerUser: 2");
        let (code, msg) = env.err("CreateAccessKey", json!({"UserName": "nonexistent-user"}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The user with name nonexistent-user cannot be found.");
    }

    #[test]
    fn root_keys_without_user_name() {
        let env = Env::new();
        // The bootstrap made one root key already.
        let before = env.ok("ListAccessKeys", json!({}));
        assert_eq!(ids(&before).len(), 1);
        assert_eq!(before["AccessKeyMetadata"][0]["UserName"], "root");
        let out = env.ok("CreateAccessKey", json!({}));
        assert_eq!(out["AccessKey"]["UserName"], "root");
        let id = out["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned();
        let (code, msg) = env.err("CreateAccessKey", json!({}));
        assert_eq!(code, "LimitExceeded");
        assert_eq!(msg, "Cannot exceed quota for AccessKeysPerUser: 2");

        let cred = crate::auth::lookup_access_key(env.iam.store(), &id)
            .unwrap()
            .unwrap();
        assert!(cred.principal.is_root());

        let listed = env.ok("ListAccessKeys", json!({}));
        assert!(ids(&listed).contains(&id));
        env.ok(
            "UpdateAccessKey",
            json!({"AccessKeyId": id, "Status": "Inactive"}),
        );
        env.ok("DeleteAccessKey", json!({"AccessKeyId": id}));
        assert_eq!(ids(&env.ok("ListAccessKeys", json!({}))).len(), 1);
    }

    #[test]
    fn a_user_manages_their_own_keys_without_naming_themselves() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "bob"}));
        let bob = user_principal(&env, "bob");
        let out = env.call_as(&bob, "CreateAccessKey", json!({})).unwrap();
        let out = out.to_value().unwrap().unwrap();
        assert_eq!(out["AccessKey"]["UserName"], "bob");
        let id = out["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned();
        let listed = env
            .call_as(&bob, "ListAccessKeys", json!({}))
            .unwrap()
            .to_value()
            .unwrap()
            .unwrap();
        assert_eq!(ids(&listed), std::slice::from_ref(&id));
        env.call_as(&bob, "DeleteAccessKey", json!({"AccessKeyId": id}))
            .unwrap();
        assert!(ids(&env.ok("ListAccessKeys", json!({"UserName": "bob"}))).is_empty());
    }

    #[test]
    fn update_changes_status_and_rejects_other_users_keys() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "a"}));
        env.ok("CreateUser", json!({"UserName": "b"}));
        let id = env.ok("CreateAccessKey", json!({"UserName": "a"}))["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        env.ok(
            "UpdateAccessKey",
            json!({"UserName": "a", "AccessKeyId": id, "Status": "Inactive"}),
        );
        let listed = env.ok("ListAccessKeys", json!({"UserName": "a"}));
        assert_eq!(listed["AccessKeyMetadata"][0]["Status"], "Inactive");
        let cred = crate::auth::lookup_access_key(env.iam.store(), &id)
            .unwrap()
            .unwrap();
        assert!(!cred.active);
        env.ok(
            "UpdateAccessKey",
            json!({"UserName": "a", "AccessKeyId": id, "Status": "Active"}),
        );
        assert_eq!(
            env.ok("ListAccessKeys", json!({"UserName": "a"}))["AccessKeyMetadata"][0]["Status"],
            "Active"
        );

        let expect_missing = |op: &str, input: serde_json::Value, key: &str| {
            let (code, msg) = env.err(op, input);
            assert_eq!(code, "NoSuchEntity", "{op}");
            assert_eq!(
                msg,
                format!("The Access Key with id {key} cannot be found.")
            );
        };
        expect_missing(
            "UpdateAccessKey",
            json!({"UserName": "b", "AccessKeyId": id, "Status": "Inactive"}),
            &id,
        );
        expect_missing(
            "DeleteAccessKey",
            json!({"UserName": "b", "AccessKeyId": id}),
            &id,
        );
        // Root's own keys do not include a user's key.
        expect_missing("DeleteAccessKey", json!({"AccessKeyId": id}), &id);
        expect_missing(
            "UpdateAccessKey",
            json!({"UserName": "a", "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Status": "Inactive"}),
            "AKIAIOSFODNN7EXAMPLE",
        );
        let (code, _) = env.err(
            "UpdateAccessKey",
            json!({"UserName": "a", "AccessKeyId": id, "Status": "Disabled"}),
        );
        assert_eq!(code, "ValidationError");
        let (code, msg) = env.err(
            "UpdateAccessKey",
            json!({"UserName": "ghost", "AccessKeyId": id, "Status": "Active"}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The user with name ghost cannot be found.");
    }

    #[test]
    fn delete_removes_the_key_and_its_index() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "u"}));
        let id = env.ok("CreateAccessKey", json!({"UserName": "u"}))["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        let (code, msg) = env.err("DeleteUser", json!({"UserName": "u"}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(msg, "Cannot delete entity, must delete access keys first.");
        env.ok(
            "DeleteAccessKey",
            json!({"UserName": "u", "AccessKeyId": id}),
        );
        assert!(crate::auth::lookup_access_key(env.iam.store(), &id)
            .unwrap()
            .is_none());
        let (code, _) = env.err(
            "DeleteAccessKey",
            json!({"UserName": "u", "AccessKeyId": id}),
        );
        assert_eq!(code, "NoSuchEntity");
        env.ok("DeleteUser", json!({"UserName": "u"}));
    }

    #[test]
    fn list_paginates() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "u"}));
        let a =
            env.ok("CreateAccessKey", json!({"UserName": "u"}))["AccessKey"]["AccessKeyId"].clone();
        let b =
            env.ok("CreateAccessKey", json!({"UserName": "u"}))["AccessKey"]["AccessKeyId"].clone();
        let first = env.ok("ListAccessKeys", json!({"UserName": "u", "MaxItems": 1}));
        assert_eq!(first["AccessKeyMetadata"].as_array().unwrap().len(), 1);
        assert_eq!(first["IsTruncated"], json!(true));
        let second = env.ok(
            "ListAccessKeys",
            json!({"UserName": "u", "MaxItems": 1, "Marker": first["Marker"]}),
        );
        assert_eq!(second["IsTruncated"], json!(false));
        let mut seen = vec![
            first["AccessKeyMetadata"][0]["AccessKeyId"].clone(),
            second["AccessKeyMetadata"][0]["AccessKeyId"].clone(),
        ];
        seen.sort_by_key(|v| v.as_str().unwrap().to_owned());
        let mut want = vec![a, b];
        want.sort_by_key(|v| v.as_str().unwrap().to_owned());
        assert_eq!(seen, want);
        assert_eq!(
            env.err("ListAccessKeys", json!({"UserName": "u", "Marker": "zz"}))
                .0,
            "InvalidInput"
        );
        assert_eq!(
            env.err("ListAccessKeys", json!({"UserName": "ghost"})).0,
            "NoSuchEntity"
        );
    }

    #[test]
    fn last_used_reports_na_until_used_and_hides_other_accounts() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "u"}));
        let id = env.ok("CreateAccessKey", json!({"UserName": "u"}))["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = env.ok("GetAccessKeyLastUsed", json!({"AccessKeyId": id}));
        assert_eq!(out["UserName"], "u");
        assert_eq!(
            out["AccessKeyLastUsed"],
            json!({"Region": "N/A", "ServiceName": "N/A"})
        );

        crate::auth::record_key_use(env.iam.store(), &id, "iam", "us-east-1", env.now).unwrap();
        let out = env.ok("GetAccessKeyLastUsed", json!({"AccessKeyId": id}));
        assert_eq!(out["AccessKeyLastUsed"]["ServiceName"], "iam");
        assert_eq!(out["AccessKeyLastUsed"]["Region"], "us-east-1");
        assert!(out["AccessKeyLastUsed"].get("LastUsedDate").is_some());

        // Root's own keys report the root user.
        let root_key =
            env.ok("ListAccessKeys", json!({}))["AccessKeyMetadata"][0]["AccessKeyId"].clone();
        let out = env.ok("GetAccessKeyLastUsed", json!({"AccessKeyId": root_key}));
        assert_eq!(out["UserName"], "root");

        let (code, msg) = env.err(
            "GetAccessKeyLastUsed",
            json!({"AccessKeyId": "AKIAIOSFODNN7EXAMPLE"}),
        );
        assert_eq!(code, "AccessDenied");
        assert_eq!(
            msg,
            "User: arn:aws:iam::123456789012:root is not authorized to perform \
             iam:GetAccessKeyLastUsed on resource: access key AKIAIOSFODNN7EXAMPLE"
        );

        // A caller from another account gets the same answer for an existing key.
        let other: AccountId = "210987654321".parse().unwrap();
        let stranger = Principal {
            account: other,
            kind: PrincipalKind::Root,
            arn: iam_arn(other, "root"),
            id: other.to_string(),
            access_key_id: "AKIAOTHER".to_owned(),
            session: None,
        };
        let err = env
            .call_as(
                &stranger,
                "GetAccessKeyLastUsed",
                json!({"AccessKeyId": id}),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "User: arn:aws:iam::210987654321:root is not authorized to perform \
                 iam:GetAccessKeyLastUsed on resource: access key {id}"
            )
        );
        // ...and cannot list, update or delete it either.
        let err = env
            .call_as(&stranger, "DeleteAccessKey", json!({"AccessKeyId": id}))
            .unwrap_err();
        assert!(matches!(err, crate::IamError::NoSuchEntity(_)));
    }

    #[test]
    fn renaming_a_user_carries_their_keys() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "old"}));
        let id = env.ok("CreateAccessKey", json!({"UserName": "old"}))["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        env.ok(
            "UpdateUser",
            json!({"UserName": "old", "NewUserName": "new"}),
        );
        let listed = env.ok("ListAccessKeys", json!({"UserName": "new"}));
        assert_eq!(ids(&listed), std::slice::from_ref(&id));
        assert_eq!(listed["AccessKeyMetadata"][0]["UserName"], "new");
        assert_eq!(
            env.ok("GetAccessKeyLastUsed", json!({"AccessKeyId": id}))["UserName"],
            "new"
        );
        env.ok(
            "DeleteAccessKey",
            json!({"UserName": "new", "AccessKeyId": id}),
        );
    }
}
