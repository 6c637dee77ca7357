//! Credentials for authentication, and the first start of a node.

use moat_store::{Reader, Record, Store, Writer, GLOBAL};
use moat_types::{
    iam_arn, new_secret_access_key, new_unique_id, AccountId, IdKind, Principal, PrincipalKind,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::common::to_ms;
use crate::records::{
    access_key_purpose, name_key, AccessKeyLastUsedRecord, AccessKeyRecord, AccountRecord,
    UserRecord,
};
use crate::IamError;

/// A verified-to-exist access key: who it belongs to and its secret, for SigV4.
pub struct Credential {
    pub principal: Principal,
    pub secret: zeroize::Zeroizing<Vec<u8>>,
    pub active: bool,
}

/// Finds an access key by id. `None` when no such key exists (or its owner is gone).
pub fn lookup_access_key(
    store: &Store,
    access_key_id: &str,
) -> Result<Option<Credential>, IamError> {
    store.read(|tx| {
        let Some(key) = tx.get::<AccessKeyRecord>(GLOBAL, access_key_id)? else {
            return Ok(None);
        };
        let account: AccountId = key.account.parse().map_err(|_| {
            IamError::Internal(format!("access key {access_key_id} has a bad account"))
        })?;
        let principal = match &key.user_name {
            None => Principal {
                account,
                kind: PrincipalKind::Root,
                arn: iam_arn(account, "root"),
                id: account.to_string(),
                access_key_id: access_key_id.to_owned(),
                session: None,
            },
            Some(name) => {
                let Some(user) = tx.get::<UserRecord>(&key.account, &name_key(name))? else {
                    return Ok(None);
                };
                Principal {
                    account,
                    kind: PrincipalKind::User {
                        name: user.name.clone(),
                        path: user.path.clone(),
                    },
                    arn: user.arn.clone(),
                    id: user.id.clone(),
                    access_key_id: access_key_id.to_owned(),
                    session: None,
                }
            }
        };
        let secret = store
            .root_key()
            .open(&access_key_purpose(access_key_id), &key.sealed_secret)
            .map_err(|e| IamError::Store(e.into()))?;
        Ok(Some(Credential {
            principal,
            secret,
            active: key.status == "Active",
        }))
    })
}

/// Records that a key was used (for GetAccessKeyLastUsed).
pub fn record_key_use(
    store: &Store,
    access_key_id: &str,
    service: &str,
    region: &str,
    now: OffsetDateTime,
) -> Result<(), IamError> {
    store.write(|tx| {
        if let Some(mut key) = tx.get::<AccessKeyRecord>(GLOBAL, access_key_id)? {
            key.last_used = Some(AccessKeyLastUsedRecord {
                date: to_ms(now),
                service: service.to_owned(),
                region: region.to_owned(),
            });
            tx.put(GLOBAL, access_key_id, &key)?;
        }
        Ok(())
    })
}

/// Which account this node manages first; keyed "management" in the global account.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NodeRecord {
    management_account: String,
}
impl Record for NodeRecord {
    const KIND: &'static str = "node";
}

/// Root credentials supplied by the operator (`MOAT_ROOT_ACCESS_KEY_ID` and secret).
pub struct SuppliedRootKey {
    pub access_key_id: String,
    pub secret_access_key: zeroize::Zeroizing<String>,
}

pub struct Bootstrap {
    pub account: AccountId,
    /// True on the very first start of this data directory.
    pub created: bool,
    /// Root credentials generated now, to show once. `None` when they already existed or were
    /// supplied.
    pub generated_root_key: Option<(String, zeroize::Zeroizing<String>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(
        "MOAT_ACCOUNT_ID is {requested} but this data directory belongs to account {existing}"
    )]
    AccountMismatch { requested: String, existing: String },
    #[error("root access key id `{0}` is not of the form AKIA followed by 16 letters or digits")]
    BadAccessKeyId(String),
    #[error("root secret access key must be 40 characters")]
    BadSecret,
    #[error("access key `{0}` already belongs to another identity")]
    KeyTaken(String),
    #[error(transparent)]
    Iam(#[from] IamError),
}

impl From<moat_store::StoreError> for BootstrapError {
    fn from(e: moat_store::StoreError) -> Self {
        BootstrapError::Iam(IamError::Store(e))
    }
}

/// Creates the management account and its root key on first start; on later starts, returns
/// the account and makes sure a supplied root key is present.
pub fn bootstrap(
    store: &Store,
    requested_account: Option<AccountId>,
    supplied: Option<SuppliedRootKey>,
    now: OffsetDateTime,
) -> Result<Bootstrap, BootstrapError> {
    if let Some(s) = &supplied {
        let id_ok = s.access_key_id.len() >= 16
            && s.access_key_id.len() <= 128
            && s.access_key_id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !id_ok {
            return Err(BootstrapError::BadAccessKeyId(s.access_key_id.clone()));
        }
        if s.secret_access_key.len() < 16 || s.secret_access_key.len() > 128 {
            return Err(BootstrapError::BadSecret);
        }
    }
    store.write(|tx| {
        let existing = tx.get::<NodeRecord>(GLOBAL, "management")?;
        let (account, created) = match existing {
            Some(n) => {
                let account: AccountId = n.management_account.parse().map_err(|_| {
                    IamError::Internal("stored management account is invalid".into())
                })?;
                if let Some(req) = requested_account {
                    if req != account {
                        return Err(BootstrapError::AccountMismatch {
                            requested: req.to_string(),
                            existing: account.to_string(),
                        });
                    }
                }
                (account, false)
            }
            None => {
                let account = requested_account.unwrap_or_else(AccountId::random);
                tx.put(
                    GLOBAL,
                    "management",
                    &NodeRecord {
                        management_account: account.to_string(),
                    },
                )?;
                tx.put(
                    GLOBAL,
                    &account.to_string(),
                    &AccountRecord {
                        account_id: account.to_string(),
                        create_date: to_ms(now),
                    },
                )?;
                (account, true)
            }
        };
        let mut generated = None;
        match supplied {
            Some(s) => {
                let sealed = store
                    .root_key()
                    .seal(
                        &access_key_purpose(&s.access_key_id),
                        s.secret_access_key.as_bytes(),
                    )
                    .map_err(|e| IamError::Store(e.into()))?;
                let existing = tx.get::<AccessKeyRecord>(GLOBAL, &s.access_key_id)?;
                if let Some(k) = &existing {
                    if k.account != account.to_string() || k.user_name.is_some() {
                        return Err(BootstrapError::KeyTaken(s.access_key_id.clone()));
                    }
                }
                let record = AccessKeyRecord {
                    access_key_id: s.access_key_id.clone(),
                    account: account.to_string(),
                    user_name: None,
                    status: "Active".to_owned(),
                    create_date: existing.as_ref().map_or(to_ms(now), |k| k.create_date),
                    sealed_secret: sealed,
                    last_used: existing.and_then(|k| k.last_used),
                };
                tx.put(GLOBAL, &s.access_key_id, &record)?;
            }
            None if created => {
                let id = new_unique_id(IdKind::AccessKey);
                let secret = zeroize::Zeroizing::new(new_secret_access_key());
                let sealed = store
                    .root_key()
                    .seal(&access_key_purpose(&id), secret.as_bytes())
                    .map_err(|e| IamError::Store(e.into()))?;
                tx.put(
                    GLOBAL,
                    &id,
                    &AccessKeyRecord {
                        access_key_id: id.clone(),
                        account: account.to_string(),
                        user_name: None,
                        status: "Active".to_owned(),
                        create_date: to_ms(now),
                        sealed_secret: sealed,
                        last_used: None,
                    },
                )?;
                generated = Some((id, secret));
            }
            None => {}
        }
        Ok(Bootstrap {
            account,
            created,
            generated_root_key: generated,
        })
    })
}

/// The root user's access keys of an account (for the credential report and ListAccessKeys by
/// root).
pub fn root_access_keys(
    tx: &impl Reader,
    account: AccountId,
) -> Result<Vec<AccessKeyRecord>, IamError> {
    let account = account.to_string();
    Ok(tx
        .all::<AccessKeyRecord>(GLOBAL, "")?
        .into_iter()
        .map(|(_, k)| k)
        .filter(|k| k.account == account && k.user_name.is_none())
        .collect())
}
