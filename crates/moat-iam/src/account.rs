//! Account-wide settings: the account alias and the account summary.

use std::collections::BTreeMap;

use moat_store::{Reader, Record, Writer, GLOBAL};

use crate::common::{paginate_vec, Call};
use crate::records::{
    AccountAliasRecord, AliasOwnerRecord, GroupRecord, MfaDeviceRecord, MfaOwner,
    OwnerMfaDeviceRecord, PolicyAttachmentRecord, PolicyRecord, RoleRecord, UserRecord,
};
use crate::{
    access_keys, auth, groups, mfa, users, CreateAccountAliasRequest, DeleteAccountAliasRequest,
    GetAccountSummaryResponse, IamError, ListAccountAliasesRequest, ListAccountAliasesResponse,
};

/// The account's alias record (an account has at most one alias) is kept under this key.
const ALIAS_KEY: &str = "";

/// The model's pattern for `accountAliasType`. Its look-ahead cannot be compiled by the wire
/// validator, so `check_alias` enforces it and quotes it in the error.
const ALIAS_PATTERN: &str = "^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$";

/// 3 to 63 lowercase letters, digits and hyphens; starts and ends with a letter or digit; no
/// two hyphens in a row.
fn check_alias(alias: &str) -> Result<(), IamError> {
    let bytes = alias.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let ok = (3..=63).contains(&bytes.len())
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && !alias.contains("--");
    if ok {
        Ok(())
    } else {
        Err(IamError::Validation(format!(
            "1 validation error detected: Value '{alias}' at 'accountAlias' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: {ALIAS_PATTERN}"
        )))
    }
}

pub fn create_account_alias(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateAccountAliasRequest,
) -> Result<(), IamError> {
    check_alias(&i.account_alias)?;
    let account = c.account_key();
    // Aliases are unique across every account this node serves.
    if let Some(owner) = tx.get::<AliasOwnerRecord>(GLOBAL, &i.account_alias)? {
        if owner.account == account {
            return Ok(());
        }
        return Err(IamError::EntityAlreadyExists(format!(
            "The account alias {} already exists.",
            i.account_alias
        )));
    }
    // An account has one alias: a new one replaces the old, which becomes free again.
    if let Some(old) = tx.get::<AccountAliasRecord>(&account, ALIAS_KEY)? {
        tx.delete::<AliasOwnerRecord>(GLOBAL, &old.alias)?;
    }
    tx.put(
        GLOBAL,
        &i.account_alias,
        &AliasOwnerRecord {
            account: account.clone(),
        },
    )?;
    tx.put(
        &account,
        ALIAS_KEY,
        &AccountAliasRecord {
            alias: i.account_alias,
        },
    )?;
    Ok(())
}

pub fn delete_account_alias(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteAccountAliasRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    match tx.get::<AccountAliasRecord>(&account, ALIAS_KEY)? {
        Some(current) if current.alias == i.account_alias => {
            tx.delete::<AccountAliasRecord>(&account, ALIAS_KEY)?;
            tx.delete::<AliasOwnerRecord>(GLOBAL, &current.alias)?;
            Ok(())
        }
        _ => Err(IamError::NoSuchEntity(format!(
            "The account alias {} cannot be found.",
            i.account_alias
        ))),
    }
}

pub fn list_account_aliases(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListAccountAliasesRequest,
) -> Result<ListAccountAliasesResponse, IamError> {
    let aliases: Vec<String> = tx
        .get::<AccountAliasRecord>(&c.account_key(), ALIAS_KEY)?
        .map(|a| a.alias)
        .into_iter()
        .collect();
    let (account_aliases, is_truncated, marker) =
        paginate_vec(aliases, i.marker.as_deref(), i.max_items)?;
    Ok(ListAccountAliasesResponse {
        account_aliases,
        is_truncated: Some(is_truncated),
        marker,
    })
}

/// IAM's default quotas, as GetAccountSummary reports them.
const QUOTAS: &[(&str, i32)] = &[
    ("AccessKeysPerUserQuota", 2),
    ("AssumeRolePolicySizeQuota", 2_048),
    ("AttachedPoliciesPerGroupQuota", 10),
    ("AttachedPoliciesPerRoleQuota", 10),
    ("AttachedPoliciesPerUserQuota", 10),
    ("GlobalEndpointTokenVersion", 1),
    ("GroupPolicySizeQuota", 5_120),
    ("GroupsPerUserQuota", 10),
    ("GroupsQuota", 300),
    ("InstanceProfilesQuota", 1_000),
    ("PoliciesQuota", 1_500),
    ("PolicySizeQuota", 6_144),
    ("PolicyVersionsInUseQuota", 10_000),
    ("RolePolicySizeQuota", 10_240),
    ("RolesQuota", 1_000),
    ("ServerCertificatesQuota", 20),
    ("SigningCertificatesPerUserQuota", 2),
    ("UserPolicySizeQuota", 2_048),
    ("UsersQuota", 5_000),
    ("VersionsPerPolicyQuota", 5),
];

fn count<R: Record>(tx: &impl Reader, account: &str) -> Result<i32, IamError> {
    Ok(i32::try_from(tx.count(R::KIND, account, "")?).unwrap_or(i32::MAX))
}

pub fn get_account_summary(
    tx: &impl Reader,
    c: &Call<'_>,
) -> Result<GetAccountSummaryResponse, IamError> {
    let account = c.account_key();
    let mut map: BTreeMap<String, i32> =
        QUOTAS.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    // The quotas Moat enforces come from the code that enforces them, so the two cannot drift.
    let enforced = [
        (
            "AccessKeysPerUserQuota",
            access_keys::MAX_KEYS_PER_USER as u64,
        ),
        ("GroupsPerUserQuota", groups::MAX_GROUPS_PER_USER),
        ("GroupsQuota", groups::MAX_GROUPS),
        ("UsersQuota", users::MAX_USERS),
    ];
    for (k, v) in enforced {
        map.insert(k.to_owned(), i32::try_from(v).unwrap_or(i32::MAX));
    }
    let root_keys = !auth::root_access_keys(tx, c.account)?.is_empty();
    let counts = [
        ("Users", count::<UserRecord>(tx, &account)?),
        ("Groups", count::<GroupRecord>(tx, &account)?),
        ("Roles", count::<RoleRecord>(tx, &account)?),
        ("Policies", count::<PolicyRecord>(tx, &account)?),
        // Every attachment of a managed policy to a user, group or role.
        (
            "PolicyVersionsInUse",
            count::<PolicyAttachmentRecord>(tx, &account)?,
        ),
        ("AccountAccessKeysPresent", i32::from(root_keys)),
        (
            "AccountMFAEnabled",
            i32::from(mfa::enabled_count(tx, c.account, &MfaOwner::Root)? > 0),
        ),
        // Virtual MFA devices, and those enabled for a user or the root user.
        ("MFADevices", count::<MfaDeviceRecord>(tx, &account)?),
        (
            "MFADevicesInUse",
            count::<OwnerMfaDeviceRecord>(tx, &account)?,
        ),
        // Not yet served by Moat: instance profiles, identity providers, server or signing
        // certificates, and the root user has no console password.
        ("AccountPasswordPresent", 0),
        ("AccountSigningCertificatesPresent", 0),
        ("InstanceProfiles", 0),
        ("Providers", 0),
        ("ServerCertificates", 0),
    ];
    for (k, v) in counts {
        map.insert(k.to_owned(), v);
    }
    Ok(GetAccountSummaryResponse {
        summary_map: Some(map),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Env;
    use moat_types::{iam_arn, AccountId, Principal, PrincipalKind};
    use serde_json::json;

    fn root_of(account: &str) -> Principal {
        let account: AccountId = account.parse().unwrap();
        Principal {
            account,
            kind: PrincipalKind::Root,
            arn: iam_arn(account, "root"),
            id: account.to_string(),
            access_key_id: "AKIAOTHER".to_owned(),
            session: None,
        }
    }

    #[test]
    fn alias_rules() {
        for ok in ["abc", "my-company", "a1-b2-c3", "123", &"a".repeat(63)] {
            assert!(check_alias(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a--b",
            "Abc",
            "a_b",
            "a.b",
            "ab c",
            &"a".repeat(64),
        ] {
            assert!(check_alias(bad).is_err(), "{bad}");
        }
        let e = check_alias("My-Alias").unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value 'My-Alias' at 'accountAlias' failed to \
             satisfy constraint: Member must satisfy regular expression pattern: \
             ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$"
        );
    }

    #[test]
    fn alias_lifecycle() {
        let env = Env::new();
        let empty = env.ok("ListAccountAliases", json!({}));
        assert_eq!(empty["AccountAliases"], json!([]));
        assert_eq!(empty["IsTruncated"], json!(false));

        env.ok(
            "CreateAccountAlias",
            json!({"AccountAlias": "example-corp"}),
        );
        // Creating the alias the account already has is a no-op.
        env.ok(
            "CreateAccountAlias",
            json!({"AccountAlias": "example-corp"}),
        );
        let listed = env.ok("ListAccountAliases", json!({}));
        assert_eq!(listed["AccountAliases"], json!(["example-corp"]));

        // A new alias replaces the old one.
        env.ok(
            "CreateAccountAlias",
            json!({"AccountAlias": "renamed-corp"}),
        );
        let listed = env.ok("ListAccountAliases", json!({}));
        assert_eq!(listed["AccountAliases"], json!(["renamed-corp"]));

        let (code, msg) = env.err(
            "DeleteAccountAlias",
            json!({"AccountAlias": "example-corp"}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The account alias example-corp cannot be found.");

        env.ok(
            "DeleteAccountAlias",
            json!({"AccountAlias": "renamed-corp"}),
        );
        assert_eq!(
            env.ok("ListAccountAliases", json!({}))["AccountAliases"],
            json!([])
        );
        let (code, _) = env.err(
            "DeleteAccountAlias",
            json!({"AccountAlias": "renamed-corp"}),
        );
        assert_eq!(code, "NoSuchEntity");

        let (code, _) = env.err("CreateAccountAlias", json!({"AccountAlias": "Bad--Alias"}));
        assert_eq!(code, "ValidationError");
        assert_eq!(
            env.ok("ListAccountAliases", json!({}))["AccountAliases"],
            json!([])
        );
    }

    #[test]
    fn aliases_are_unique_across_accounts() {
        let env = Env::new();
        let other = root_of("210987654321");
        env.ok("CreateAccountAlias", json!({"AccountAlias": "shared-name"}));
        let err = env
            .call_as(
                &other,
                "CreateAccountAlias",
                json!({"AccountAlias": "shared-name"}),
            )
            .unwrap_err();
        assert!(matches!(err, IamError::EntityAlreadyExists(_)));
        assert_eq!(
            err.to_string(),
            "The account alias shared-name already exists."
        );
        // The other account cannot delete it either.
        let err = env
            .call_as(
                &other,
                "DeleteAccountAlias",
                json!({"AccountAlias": "shared-name"}),
            )
            .unwrap_err();
        assert!(matches!(err, IamError::NoSuchEntity(_)));

        // Once replaced, the old alias is free for others.
        env.ok("CreateAccountAlias", json!({"AccountAlias": "next-name"}));
        env.call_as(
            &other,
            "CreateAccountAlias",
            json!({"AccountAlias": "shared-name"}),
        )
        .unwrap();
        let theirs = env
            .call_as(&other, "ListAccountAliases", json!({}))
            .unwrap()
            .to_value()
            .unwrap()
            .unwrap();
        assert_eq!(theirs["AccountAliases"], json!(["shared-name"]));
        assert_eq!(
            env.ok("ListAccountAliases", json!({}))["AccountAliases"],
            json!(["next-name"])
        );
    }

    #[test]
    fn list_aliases_rejects_a_bad_marker() {
        let env = Env::new();
        assert_eq!(
            env.err("ListAccountAliases", json!({"Marker": "junk"})).0,
            "InvalidInput"
        );
    }

    #[test]
    fn summary_has_every_key_aws_returns_with_real_counts() {
        let env = Env::new();
        let summary = env.ok("GetAccountSummary", json!({}));
        let map = summary["SummaryMap"].as_object().unwrap();
        let expected_keys = [
            "AccessKeysPerUserQuota",
            "AccountAccessKeysPresent",
            "AccountMFAEnabled",
            "AccountPasswordPresent",
            "AccountSigningCertificatesPresent",
            "AssumeRolePolicySizeQuota",
            "AttachedPoliciesPerGroupQuota",
            "AttachedPoliciesPerRoleQuota",
            "AttachedPoliciesPerUserQuota",
            "GlobalEndpointTokenVersion",
            "GroupPolicySizeQuota",
            "Groups",
            "GroupsPerUserQuota",
            "GroupsQuota",
            "InstanceProfiles",
            "InstanceProfilesQuota",
            "MFADevices",
            "MFADevicesInUse",
            "Policies",
            "PoliciesQuota",
            "PolicySizeQuota",
            "PolicyVersionsInUse",
            "PolicyVersionsInUseQuota",
            "Providers",
            "RolePolicySizeQuota",
            "Roles",
            "RolesQuota",
            "ServerCertificates",
            "ServerCertificatesQuota",
            "SigningCertificatesPerUserQuota",
            "UserPolicySizeQuota",
            "Users",
            "UsersQuota",
            "VersionsPerPolicyQuota",
        ];
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, expected_keys);
        // Every key is one the model's SummaryKeyType enum names.
        assert_eq!(expected_keys.len(), 34);

        assert_eq!(map["UsersQuota"], 5000);
        assert_eq!(map["GroupsQuota"], 300);
        assert_eq!(map["RolesQuota"], 1000);
        assert_eq!(map["PoliciesQuota"], 1500);
        assert_eq!(map["AccessKeysPerUserQuota"], 2);
        assert_eq!(map["GroupsPerUserQuota"], 10);
        assert_eq!(map["Users"], 0);
        assert_eq!(map["Groups"], 0);
        // The bootstrap gave root an access key.
        assert_eq!(map["AccountAccessKeysPresent"], 1);

        env.ok("CreateUser", json!({"UserName": "u1"}));
        env.ok("CreateUser", json!({"UserName": "u2"}));
        env.ok("CreateGroup", json!({"GroupName": "g"}));
        env.ok(
            "AddUserToGroup",
            json!({"GroupName": "g", "UserName": "u1"}),
        );
        let map = env.ok("GetAccountSummary", json!({}))["SummaryMap"].clone();
        assert_eq!(map["Users"], 2);
        assert_eq!(map["Groups"], 1);

        // Counts are per account.
        let other = root_of("210987654321");
        let theirs = env
            .call_as(&other, "GetAccountSummary", json!({}))
            .unwrap()
            .to_value()
            .unwrap()
            .unwrap();
        assert_eq!(theirs["SummaryMap"]["Users"], 0);
        assert_eq!(theirs["SummaryMap"]["AccountAccessKeysPresent"], 0);

        // Removing root's keys clears AccountAccessKeysPresent.
        let root_keys = env.ok("ListAccessKeys", json!({}));
        for k in root_keys["AccessKeyMetadata"].as_array().unwrap() {
            env.ok("DeleteAccessKey", json!({"AccessKeyId": k["AccessKeyId"]}));
        }
        let map = env.ok("GetAccountSummary", json!({}))["SummaryMap"].clone();
        assert_eq!(map["AccountAccessKeysPresent"], 0);
    }

    #[test]
    fn summary_keys_are_in_the_model() {
        let Some(shape) = crate::model().shape("summaryKeyType") else {
            panic!("summaryKeyType missing from the model");
        };
        let moat_wire::model::ShapeKind::String {
            enum_values: Some(allowed),
        } = &shape.kind
        else {
            panic!("summaryKeyType is not an enum");
        };
        let env = Env::new();
        let summary = env.ok("GetAccountSummary", json!({}));
        for key in summary["SummaryMap"].as_object().unwrap().keys() {
            assert!(allowed.contains(key), "{key} is not a SummaryKeyType");
        }
        assert_eq!(
            summary["SummaryMap"].as_object().unwrap().len(),
            allowed.len()
        );
    }
}
