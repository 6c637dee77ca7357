//! Inline policies: documents embedded in one user, group or role.
//!
//! IAM caps the inline policies of an entity together, not one by one: all of a user's inline
//! documents share 2,048 characters, a group's 5,120 and a role's 10,240, whitespace not
//! counted. Policy names are kept as given and compared exactly.

use moat_store::{Reader, Writer};

use crate::common::{check_policy_document, encode_document, paginate, Call, DocumentUse};
use crate::records::{name_key, EntityKind, InlinePolicyRecord};
use crate::{
    groups, roles, users, DeleteGroupPolicyRequest, DeleteRolePolicyRequest,
    DeleteUserPolicyRequest, GetGroupPolicyRequest, GetGroupPolicyResponse, GetRolePolicyRequest,
    GetRolePolicyResponse, GetUserPolicyRequest, GetUserPolicyResponse, IamError,
    ListGroupPoliciesRequest, ListGroupPoliciesResponse, ListRolePoliciesRequest,
    ListRolePoliciesResponse, ListUserPoliciesRequest, ListUserPoliciesResponse,
    PutGroupPolicyRequest, PutRolePolicyRequest, PutUserPolicyRequest,
};

/// IAM's aggregate quota for all inline policies of one entity, in non-whitespace characters.
pub fn aggregate_quota(kind: EntityKind) -> usize {
    match kind {
        EntityKind::User => 2_048,
        EntityKind::Group => 5_120,
        EntityKind::Role => 10_240,
    }
}

fn document_use(kind: EntityKind) -> DocumentUse {
    match kind {
        EntityKind::User => DocumentUse::UserInline,
        EntityKind::Group => DocumentUse::GroupInline,
        EntityKind::Role => DocumentUse::RoleInline,
    }
}

/// What is being changed or read: whether the entity's policies may be changed decides the
/// service-linked role check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// The entity's name as stored, or IAM's `NoSuchEntity` for it.
fn resolve(
    tx: &impl Reader,
    c: &Call<'_>,
    kind: EntityKind,
    name: &str,
    access: Access,
) -> Result<String, IamError> {
    Ok(match kind {
        EntityKind::User => users::require(tx, c.account, name)?.name,
        EntityKind::Group => {
            groups::find(tx, c.account, name)?
                .ok_or_else(|| IamError::no_such_group(name))?
                .name
        }
        EntityKind::Role => match access {
            Access::Read => roles::require(tx, c.account, name)?.name,
            Access::Write => roles::require_modifiable(tx, c.account, name)?.name,
        },
    })
}

/// The key prefix of an entity's inline policies: `kind/entity_lc/`.
pub fn entity_prefix(kind: EntityKind, entity: &str) -> String {
    format!("{}/{}/", kind.key(), name_key(entity))
}

fn policy_key(kind: EntityKind, entity: &str, policy_name: &str) -> String {
    format!("{}{policy_name}", entity_prefix(kind, entity))
}

fn no_such_policy(kind: EntityKind, policy_name: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "The {} policy with name {policy_name} cannot be found.",
        kind.key()
    ))
}

/// Every inline policy of an entity, in name order.
pub fn all_for(
    tx: &impl Reader,
    account: &str,
    kind: EntityKind,
    entity: &str,
) -> Result<Vec<InlinePolicyRecord>, IamError> {
    Ok(tx
        .all::<InlinePolicyRecord>(account, &entity_prefix(kind, entity))?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}

fn put(
    tx: &mut impl Writer,
    c: &Call<'_>,
    kind: EntityKind,
    entity: &str,
    policy_name: String,
    document: String,
) -> Result<(), IamError> {
    let account = c.account_key();
    let entity = resolve(tx, c, kind, entity, Access::Write)?;
    // The new document replaces any of the same name, so that one does not count.
    let others: usize = all_for(tx, &account, kind, &entity)?
        .iter()
        .filter(|p| p.policy_name != policy_name)
        .map(|p| moat_policy::non_whitespace_len(&p.document))
        .sum();
    let quota = aggregate_quota(kind);
    if others.saturating_add(moat_policy::non_whitespace_len(&document)) > quota {
        return Err(IamError::LimitExceeded(format!(
            "Maximum policy size of {quota} bytes exceeded for {} {entity}",
            kind.key()
        )));
    }
    check_policy_document(&document, document_use(kind))?;
    let key = policy_key(kind, &entity, &policy_name);
    tx.put(
        &account,
        &key,
        &InlinePolicyRecord {
            policy_name,
            document,
        },
    )?;
    Ok(())
}

/// The entity's stored name and the policy, or `NoSuchEntity`.
fn get(
    tx: &impl Reader,
    c: &Call<'_>,
    kind: EntityKind,
    entity: &str,
    policy_name: &str,
) -> Result<(String, InlinePolicyRecord), IamError> {
    let entity = resolve(tx, c, kind, entity, Access::Read)?;
    let policy = tx
        .get::<InlinePolicyRecord>(&c.account_key(), &policy_key(kind, &entity, policy_name))?
        .ok_or_else(|| no_such_policy(kind, policy_name))?;
    Ok((entity, policy))
}

fn delete(
    tx: &mut impl Writer,
    c: &Call<'_>,
    kind: EntityKind,
    entity: &str,
    policy_name: &str,
) -> Result<(), IamError> {
    let entity = resolve(tx, c, kind, entity, Access::Write)?;
    let key = policy_key(kind, &entity, policy_name);
    if !tx.delete::<InlinePolicyRecord>(&c.account_key(), &key)? {
        return Err(no_such_policy(kind, policy_name));
    }
    Ok(())
}

/// One page of an entity's policy names, sorted.
fn list(
    tx: &impl Reader,
    c: &Call<'_>,
    kind: EntityKind,
    entity: &str,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<(Vec<String>, bool, Option<String>), IamError> {
    let entity = resolve(tx, c, kind, entity, Access::Read)?;
    let page = paginate::<InlinePolicyRecord>(
        tx,
        &c.account_key(),
        &entity_prefix(kind, &entity),
        marker,
        max_items,
        &mut |_, _| true,
    )?;
    let names = page.items.into_iter().map(|p| p.policy_name).collect();
    Ok((names, page.is_truncated, page.marker))
}

pub fn put_user_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: PutUserPolicyRequest,
) -> Result<(), IamError> {
    put(
        tx,
        c,
        EntityKind::User,
        &i.user_name,
        i.policy_name,
        i.policy_document,
    )
}

pub fn get_user_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetUserPolicyRequest,
) -> Result<GetUserPolicyResponse, IamError> {
    let (user_name, p) = get(tx, c, EntityKind::User, &i.user_name, &i.policy_name)?;
    Ok(GetUserPolicyResponse {
        user_name,
        policy_name: p.policy_name,
        policy_document: encode_document(&p.document),
    })
}

pub fn delete_user_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteUserPolicyRequest,
) -> Result<(), IamError> {
    delete(tx, c, EntityKind::User, &i.user_name, &i.policy_name)
}

pub fn list_user_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListUserPoliciesRequest,
) -> Result<ListUserPoliciesResponse, IamError> {
    let (policy_names, is_truncated, marker) = list(
        tx,
        c,
        EntityKind::User,
        &i.user_name,
        i.marker.as_deref(),
        i.max_items,
    )?;
    Ok(ListUserPoliciesResponse {
        policy_names,
        is_truncated: Some(is_truncated),
        marker,
    })
}

pub fn put_group_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: PutGroupPolicyRequest,
) -> Result<(), IamError> {
    put(
        tx,
        c,
        EntityKind::Group,
        &i.group_name,
        i.policy_name,
        i.policy_document,
    )
}

pub fn get_group_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetGroupPolicyRequest,
) -> Result<GetGroupPolicyResponse, IamError> {
    let (group_name, p) = get(tx, c, EntityKind::Group, &i.group_name, &i.policy_name)?;
    Ok(GetGroupPolicyResponse {
        group_name,
        policy_name: p.policy_name,
        policy_document: encode_document(&p.document),
    })
}

pub fn delete_group_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteGroupPolicyRequest,
) -> Result<(), IamError> {
    delete(tx, c, EntityKind::Group, &i.group_name, &i.policy_name)
}

pub fn list_group_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListGroupPoliciesRequest,
) -> Result<ListGroupPoliciesResponse, IamError> {
    let (policy_names, is_truncated, marker) = list(
        tx,
        c,
        EntityKind::Group,
        &i.group_name,
        i.marker.as_deref(),
        i.max_items,
    )?;
    Ok(ListGroupPoliciesResponse {
        policy_names,
        is_truncated: Some(is_truncated),
        marker,
    })
}

pub fn put_role_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: PutRolePolicyRequest,
) -> Result<(), IamError> {
    put(
        tx,
        c,
        EntityKind::Role,
        &i.role_name,
        i.policy_name,
        i.policy_document,
    )
}

pub fn get_role_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetRolePolicyRequest,
) -> Result<GetRolePolicyResponse, IamError> {
    let (role_name, p) = get(tx, c, EntityKind::Role, &i.role_name, &i.policy_name)?;
    Ok(GetRolePolicyResponse {
        role_name,
        policy_name: p.policy_name,
        policy_document: encode_document(&p.document),
    })
}

pub fn delete_role_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteRolePolicyRequest,
) -> Result<(), IamError> {
    delete(tx, c, EntityKind::Role, &i.role_name, &i.policy_name)
}

pub fn list_role_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListRolePoliciesRequest,
) -> Result<ListRolePoliciesResponse, IamError> {
    let (policy_names, is_truncated, marker) = list(
        tx,
        c,
        EntityKind::Role,
        &i.role_name,
        i.marker.as_deref(),
        i.max_items,
    )?;
    Ok(ListRolePoliciesResponse {
        policy_names,
        is_truncated: Some(is_truncated),
        marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Env;
    use serde_json::{json, Value};

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

    /// A valid identity policy of exactly `n` non-whitespace characters, padded with `pad`
    /// spaces that must not count.
    fn doc_of_size(n: usize, pad: usize) -> String {
        let make = |fill: usize| {
            format!(
                r#"{{"Version":"2012-10-17",{}"Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/{}"}}]}}"#,
                " ".repeat(pad),
                "a".repeat(fill)
            )
        };
        let base = moat_policy::non_whitespace_len(&make(0));
        let doc = make(n - base);
        assert_eq!(moat_policy::non_whitespace_len(&doc), n);
        doc
    }

    /// The operations of one entity kind, and how to create such an entity.
    struct Kind {
        entity: &'static str,
        put: &'static str,
        get: &'static str,
        delete: &'static str,
        list: &'static str,
        label: &'static str,
        quota: usize,
    }

    const KINDS: [Kind; 3] = [
        Kind {
            entity: "UserName",
            put: "PutUserPolicy",
            get: "GetUserPolicy",
            delete: "DeleteUserPolicy",
            list: "ListUserPolicies",
            label: "user",
            quota: 2_048,
        },
        Kind {
            entity: "GroupName",
            put: "PutGroupPolicy",
            get: "GetGroupPolicy",
            delete: "DeleteGroupPolicy",
            list: "ListGroupPolicies",
            label: "group",
            quota: 5_120,
        },
        Kind {
            entity: "RoleName",
            put: "PutRolePolicy",
            get: "GetRolePolicy",
            delete: "DeleteRolePolicy",
            list: "ListRolePolicies",
            label: "role",
            quota: 10_240,
        },
    ];

    fn create_entity(env: &Env, k: &Kind, name: &str) {
        match k.label {
            "user" => env.ok("CreateUser", json!({"UserName": name})),
            "group" => env.ok("CreateGroup", json!({"GroupName": name})),
            _ => env.ok(
                "CreateRole",
                json!({"RoleName": name, "AssumeRolePolicyDocument": TRUST}),
            ),
        };
    }

    fn input(k: &Kind, entity: &str, extra: Value) -> Value {
        let mut v = extra;
        v[k.entity] = json!(entity);
        v
    }

    #[test]
    fn put_get_list_delete_for_every_kind() {
        for k in &KINDS {
            let env = Env::new();
            create_entity(&env, k, "Owner");
            env.ok(
                k.put,
                input(
                    k,
                    "owner",
                    json!({"PolicyName": "read", "PolicyDocument": DOC}),
                ),
            );
            let got = env.ok(k.get, input(k, "OWNER", json!({"PolicyName": "read"})));
            assert_eq!(got["PolicyName"], "read", "{}", k.label);
            assert_eq!(got[k.entity], "Owner", "the stored name: {}", k.label);
            assert_eq!(got["PolicyDocument"], encode_document(DOC), "{}", k.label);

            // Putting the same name again replaces the document.
            let other = DOC.replace("s3:GetObject", "s3:PutObject");
            env.ok(
                k.put,
                input(
                    k,
                    "Owner",
                    json!({"PolicyName": "read", "PolicyDocument": other}),
                ),
            );
            let got = env.ok(k.get, input(k, "Owner", json!({"PolicyName": "read"})));
            assert_eq!(got["PolicyDocument"], encode_document(&other));
            let listed = env.ok(k.list, input(k, "Owner", json!({})));
            assert_eq!(listed["PolicyNames"], json!(["read"]), "{}", k.label);
            assert_eq!(listed["IsTruncated"], json!(false));

            // Policy names are exact: another case is another policy.
            let (code, msg) = env.err(k.get, input(k, "Owner", json!({"PolicyName": "READ"})));
            assert_eq!(code, "NoSuchEntity");
            assert_eq!(
                msg,
                format!("The {} policy with name READ cannot be found.", k.label)
            );

            env.ok(k.delete, input(k, "owner", json!({"PolicyName": "read"})));
            let (code, msg) = env.err(k.delete, input(k, "Owner", json!({"PolicyName": "read"})));
            assert_eq!(code, "NoSuchEntity");
            assert_eq!(
                msg,
                format!("The {} policy with name read cannot be found.", k.label)
            );
            let listed = env.ok(k.list, input(k, "Owner", json!({})));
            assert_eq!(listed["PolicyNames"], json!([]));
        }
    }

    #[test]
    fn the_entity_must_exist() {
        let env = Env::new();
        for k in &KINDS {
            let expected = format!("The {} with name ghost cannot be found.", k.label);
            for (op, extra) in [
                (k.put, json!({"PolicyName": "p", "PolicyDocument": DOC})),
                (k.get, json!({"PolicyName": "p"})),
                (k.delete, json!({"PolicyName": "p"})),
                (k.list, json!({})),
            ] {
                let (code, msg) = env.err(op, input(k, "ghost", extra));
                assert_eq!(code, "NoSuchEntity", "{op}");
                assert_eq!(msg, expected, "{op}");
            }
        }
    }

    #[test]
    fn malformed_documents_are_refused() {
        for k in &KINDS {
            let env = Env::new();
            create_entity(&env, k, "e");
            for bad in ["{not json", TRUST] {
                let (code, _) = env.err(
                    k.put,
                    input(k, "e", json!({"PolicyName": "p", "PolicyDocument": bad})),
                );
                assert_eq!(code, "MalformedPolicyDocument", "{}: {bad}", k.label);
            }
            let listed = env.ok(k.list, input(k, "e", json!({})));
            assert_eq!(listed["PolicyNames"], json!([]));
        }
    }

    #[test]
    fn the_quota_covers_all_inline_policies_of_the_entity() {
        for k in &KINDS {
            let env = Env::new();
            create_entity(&env, k, "Big");
            let half = k.quota / 2;
            // Whitespace does not count: both halves fit exactly.
            env.ok(
                k.put,
                input(
                    k,
                    "big",
                    json!({"PolicyName": "a", "PolicyDocument": doc_of_size(half, 500)}),
                ),
            );
            env.ok(
                k.put,
                input(
                    k,
                    "big",
                    json!({"PolicyName": "b", "PolicyDocument": doc_of_size(half, 500)}),
                ),
            );
            let (code, msg) = env.err(
                k.put,
                input(k, "big", json!({"PolicyName": "c", "PolicyDocument": DOC})),
            );
            assert_eq!(code, "LimitExceeded", "{}", k.label);
            assert_eq!(
                msg,
                format!(
                    "Maximum policy size of {} bytes exceeded for {} Big",
                    k.quota, k.label
                )
            );
            // Replacing a policy counts the new document instead of the old one.
            env.ok(
                k.put,
                input(
                    k,
                    "big",
                    json!({"PolicyName": "a", "PolicyDocument": doc_of_size(half - 200, 0)}),
                ),
            );
            env.ok(
                k.put,
                input(
                    k,
                    "big",
                    json!({"PolicyName": "c", "PolicyDocument": doc_of_size(200, 0)}),
                ),
            );
            let (code, _) = env.err(
                k.put,
                input(
                    k,
                    "big",
                    json!({"PolicyName": "a", "PolicyDocument": doc_of_size(half, 0)}),
                ),
            );
            assert_eq!(code, "LimitExceeded");
            // One document alone over the quota is refused the same way.
            let other = Env::new();
            create_entity(&other, k, "Big");
            let (code, msg) = other.err(
                k.put,
                input(
                    k,
                    "big",
                    json!({"PolicyName": "a", "PolicyDocument": doc_of_size(k.quota + 1, 0)}),
                ),
            );
            assert_eq!(code, "LimitExceeded");
            assert_eq!(
                msg,
                format!(
                    "Maximum policy size of {} bytes exceeded for {} Big",
                    k.quota, k.label
                )
            );
        }
    }

    #[test]
    fn policy_names_are_listed_sorted_and_paginated() {
        for k in &KINDS {
            let env = Env::new();
            create_entity(&env, k, "e");
            create_entity(&env, k, "e2");
            for name in ["delta", "alpha", "charlie", "bravo", "echo"] {
                env.ok(
                    k.put,
                    input(k, "e", json!({"PolicyName": name, "PolicyDocument": DOC})),
                );
            }
            // Another entity's policies stay out of the listing.
            env.ok(
                k.put,
                input(
                    k,
                    "e2",
                    json!({"PolicyName": "zulu", "PolicyDocument": DOC}),
                ),
            );
            let mut names = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let mut extra = json!({"MaxItems": 2});
                if let Some(m) = &marker {
                    extra["Marker"] = json!(m);
                }
                let page = env.ok(k.list, input(k, "e", extra));
                let items = page["PolicyNames"].as_array().unwrap();
                assert!(items.len() <= 2);
                names.extend(items.iter().map(|n| n.as_str().unwrap().to_owned()));
                if page["IsTruncated"] == json!(true) {
                    marker = Some(page["Marker"].as_str().unwrap().to_owned());
                } else {
                    assert!(page.get("Marker").is_none());
                    break;
                }
            }
            assert_eq!(names, ["alpha", "bravo", "charlie", "delta", "echo"]);
            let (code, _) = env.err(k.list, input(k, "e", json!({"Marker": "nope"})));
            assert_eq!(code, "InvalidInput");
        }
    }

    #[test]
    fn renamed_users_keep_their_inline_policies() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "old"}));
        env.ok(
            "PutUserPolicy",
            json!({"UserName": "old", "PolicyName": "p", "PolicyDocument": DOC}),
        );
        env.ok(
            "UpdateUser",
            json!({"UserName": "old", "NewUserName": "new"}),
        );
        let got = env.ok(
            "GetUserPolicy",
            json!({"UserName": "new", "PolicyName": "p"}),
        );
        assert_eq!(got["UserName"], "new");
        assert_eq!(got["PolicyDocument"], encode_document(DOC));
    }
}
