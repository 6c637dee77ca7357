//! Managed policy attachments to users, groups and roles, and permissions boundary usage.
//!
//! Each attachment is two records written in the same transaction: `AttachedPolicyRecord`
//! keyed `kind/entity_lc/policy_arn` (what an entity has) and `PolicyAttachmentRecord` keyed
//! `policy_arn|kind|entity_lc` (who has a policy). A permissions boundary is one
//! `BoundaryUsageRecord` in the second key space, so a policy's users of either kind are one
//! ordered range.

use std::collections::BTreeMap;

use moat_store::{Reader, Record, Writer};
use moat_types::AccountId;

use crate::common::{matches_path_prefix, paginate, Call, DEFAULT_MAX_ITEMS};
use crate::policies::{self, Managed, Usage};
use crate::records::{
    name_key, AttachedPolicyRecord, BoundaryUsageRecord, EntityKind, PolicyAttachmentRecord,
};
use crate::{
    groups, roles, users, AttachGroupPolicyRequest, AttachRolePolicyRequest,
    AttachUserPolicyRequest, AttachedPolicy, DetachGroupPolicyRequest, DetachRolePolicyRequest,
    DetachUserPolicyRequest, IamError, ListAttachedGroupPoliciesRequest,
    ListAttachedGroupPoliciesResponse, ListAttachedRolePoliciesRequest,
    ListAttachedRolePoliciesResponse, ListAttachedUserPoliciesRequest,
    ListAttachedUserPoliciesResponse, ListEntitiesForPolicyRequest, ListEntitiesForPolicyResponse,
    PolicyGroup, PolicyRole, PolicyUser,
};

/// IAM's default quota of managed policies attached to one user, group or role.
pub const MAX_ATTACHED: u64 = 10;

fn quota_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::User => "PoliciesPerUser",
        EntityKind::Group => "PoliciesPerGroup",
        EntityKind::Role => "PoliciesPerRole",
    }
}

/// What a policy needs to know about the entity it is attached to.
struct Entity {
    name: String,
    id: String,
    path: String,
}

fn find_entity(
    tx: &impl Reader,
    account: AccountId,
    kind: EntityKind,
    name: &str,
) -> Result<Option<Entity>, IamError> {
    Ok(match kind {
        EntityKind::User => users::find(tx, account, name)?.map(|u| Entity {
            name: u.name,
            id: u.id,
            path: u.path,
        }),
        EntityKind::Group => groups::find(tx, account, name)?.map(|g| Entity {
            name: g.name,
            id: g.id,
            path: g.path,
        }),
        EntityKind::Role => roles::find(tx, account, name)?.map(|r| Entity {
            name: r.name,
            id: r.id,
            path: r.path,
        }),
    })
}

fn require_entity(
    tx: &impl Reader,
    account: AccountId,
    kind: EntityKind,
    name: &str,
) -> Result<Entity, IamError> {
    find_entity(tx, account, kind, name)?.ok_or_else(|| match kind {
        EntityKind::User => IamError::no_such_user(name),
        EntityKind::Group => IamError::no_such_group(name),
        EntityKind::Role => IamError::no_such_role(name),
    })
}

/// The entity, for attaching or detaching: service-linked roles belong to AWS, so their
/// policies cannot be changed by the customer.
fn require_modifiable_entity(
    tx: &impl Reader,
    account: AccountId,
    kind: EntityKind,
    name: &str,
) -> Result<Entity, IamError> {
    if kind == EntityKind::Role {
        let r = roles::require_modifiable(tx, account, name)?;
        return Ok(Entity {
            name: r.name,
            id: r.id,
            path: r.path,
        });
    }
    require_entity(tx, account, kind, name)
}

/// `policy_arn|kind|entity_lc`: the key of `PolicyAttachmentRecord` and `BoundaryUsageRecord`.
pub fn usage_key(policy_arn: &str, kind: EntityKind, entity_lc: &str) -> String {
    format!("{policy_arn}|{}|{entity_lc}", kind.key())
}

/// The `kind/entity_lc/policy_arn` key of `AttachedPolicyRecord`.
pub fn attached_key(kind: EntityKind, entity_lc: &str, policy_arn: &str) -> String {
    format!("{}/{entity_lc}/{policy_arn}", kind.key())
}

fn kind_of(key: &str) -> Option<EntityKind> {
    match key {
        "user" => Some(EntityKind::User),
        "group" => Some(EntityKind::Group),
        "role" => Some(EntityKind::Role),
        _ => None,
    }
}

/// The entity a usage key names, if `key` really is `policy_arn|kind|entity_lc` for this
/// policy. A policy path may contain `|`, so a key under the prefix `arn|` can belong to
/// another policy whose ARN extends this one; entity names never contain `|`, which tells
/// them apart.
fn usage_entity<'k>(policy_arn: &str, key: &'k str) -> Option<(EntityKind, &'k str)> {
    let rest = key.strip_prefix(policy_arn)?.strip_prefix('|')?;
    let (kind, entity) = rest.split_once('|')?;
    if entity.is_empty() || entity.contains('|') {
        return None;
    }
    Some((kind_of(kind)?, entity))
}

fn count_usage<R: Record>(
    tx: &impl Reader,
    account: AccountId,
    policy_arn: &str,
) -> Result<u64, IamError> {
    let mut n = 0u64;
    // `keep` counts and keeps nothing, so the scan allocates no rows.
    tx.scan::<R>(
        &account.to_string(),
        &format!("{policy_arn}|"),
        None,
        usize::MAX,
        &mut |key, _| {
            if usage_entity(policy_arn, key).is_some() {
                n = n.saturating_add(1);
            }
            false
        },
    )?;
    Ok(n)
}

/// How many users, groups and roles in `account` have the policy attached.
pub fn attachment_count(
    tx: &impl Reader,
    account: AccountId,
    policy_arn: &str,
) -> Result<u64, IamError> {
    count_usage::<PolicyAttachmentRecord>(tx, account, policy_arn)
}

/// How many users and roles in `account` use the policy as their permissions boundary.
pub fn boundary_usage_count(
    tx: &impl Reader,
    account: AccountId,
    policy_arn: &str,
) -> Result<u64, IamError> {
    count_usage::<BoundaryUsageRecord>(tx, account, policy_arn)
}

/// The managed policies attached to one entity, in ARN order.
pub fn attached_policies(
    tx: &impl Reader,
    account: AccountId,
    kind: EntityKind,
    entity_lc: &str,
) -> Result<Vec<AttachedPolicyRecord>, IamError> {
    Ok(tx
        .all::<AttachedPolicyRecord>(
            &account.to_string(),
            &format!("{}/{entity_lc}/", kind.key()),
        )?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// Records that the entity `name` of `kind` uses the managed policy `arn` (customer or AWS
/// managed) as its permissions boundary. The caller stores the ARN on the entity itself.
pub fn set_boundary(
    tx: &mut impl Writer,
    c: &Call<'_>,
    kind: EntityKind,
    name: &str,
    arn: &str,
) -> Result<(), IamError> {
    let policy =
        policies::resolve(tx, c.account, arn)?.ok_or_else(|| IamError::no_such_policy(arn))?;
    tx.put(
        &c.account_key(),
        &usage_key(policy.arn(), kind, &name_key(name)),
        &BoundaryUsageRecord {
            entity_kind: kind,
            entity_name: name.to_owned(),
        },
    )?;
    Ok(())
}

/// Forgets that the entity `name` of `kind` uses `arn` as its permissions boundary (when the
/// boundary is removed or replaced, or the entity is deleted). Absent records are fine.
#[allow(
    dead_code,
    reason = "for the boundary operations of users and roles, being written concurrently"
)]
pub fn clear_boundary(
    tx: &mut impl Writer,
    c: &Call<'_>,
    kind: EntityKind,
    name: &str,
    arn: &str,
) -> Result<(), IamError> {
    tx.delete::<BoundaryUsageRecord>(&c.account_key(), &usage_key(arn, kind, &name_key(name)))?;
    Ok(())
}

fn attach(
    tx: &mut impl Writer,
    c: &Call<'_>,
    kind: EntityKind,
    name: &str,
    arn: &str,
) -> Result<(), IamError> {
    let account = c.account_key();
    let entity = require_modifiable_entity(tx, c.account, kind, name)?;
    let policy =
        policies::resolve(tx, c.account, arn)?.ok_or_else(|| IamError::no_such_policy(arn))?;
    let entity_lc = name_key(&entity.name);
    let key = attached_key(kind, &entity_lc, policy.arn());
    if tx.exists::<AttachedPolicyRecord>(&account, &key)? {
        // Attaching an attached policy again changes nothing, as in IAM.
        return Ok(());
    }
    let attached = tx.count(
        AttachedPolicyRecord::KIND,
        &account,
        &format!("{}/{entity_lc}/", kind.key()),
    )?;
    if attached >= MAX_ATTACHED {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for {}: {MAX_ATTACHED}",
            quota_name(kind)
        )));
    }
    tx.put(
        &account,
        &key,
        &AttachedPolicyRecord {
            policy_name: policy.name().to_owned(),
            policy_arn: policy.arn().to_owned(),
        },
    )?;
    tx.put(
        &account,
        &usage_key(policy.arn(), kind, &entity_lc),
        &PolicyAttachmentRecord {
            entity_kind: kind,
            entity_name: entity.name,
            entity_id: entity.id,
        },
    )?;
    Ok(())
}

fn detach(
    tx: &mut impl Writer,
    c: &Call<'_>,
    kind: EntityKind,
    name: &str,
    arn: &str,
) -> Result<(), IamError> {
    let account = c.account_key();
    let entity = require_modifiable_entity(tx, c.account, kind, name)?;
    let entity_lc = name_key(&entity.name);
    if !tx.delete::<AttachedPolicyRecord>(&account, &attached_key(kind, &entity_lc, arn))? {
        return Err(policies::not_found(arn));
    }
    tx.delete::<PolicyAttachmentRecord>(&account, &usage_key(arn, kind, &entity_lc))?;
    Ok(())
}

struct AttachedPage {
    policies: Vec<AttachedPolicy>,
    is_truncated: bool,
    marker: Option<String>,
}

fn list_attached(
    tx: &impl Reader,
    c: &Call<'_>,
    kind: EntityKind,
    name: &str,
    path_prefix: Option<&str>,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<AttachedPage, IamError> {
    let entity = require_entity(tx, c.account, kind, name)?;
    let page = paginate::<AttachedPolicyRecord>(
        tx,
        &c.account_key(),
        &format!("{}/{}/", kind.key(), name_key(&entity.name)),
        marker,
        max_items,
        &mut |_, r| matches_path_prefix(policies::path_of_arn(&r.policy_arn), path_prefix),
    )?;
    Ok(AttachedPage {
        policies: page
            .items
            .into_iter()
            .map(|r| AttachedPolicy {
                policy_name: Some(r.policy_name),
                policy_arn: Some(r.policy_arn),
            })
            .collect(),
        is_truncated: page.is_truncated,
        marker: page.marker,
    })
}

pub fn attach_user_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: AttachUserPolicyRequest,
) -> Result<(), IamError> {
    attach(tx, c, EntityKind::User, &i.user_name, &i.policy_arn)
}

pub fn detach_user_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DetachUserPolicyRequest,
) -> Result<(), IamError> {
    detach(tx, c, EntityKind::User, &i.user_name, &i.policy_arn)
}

pub fn attach_group_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: AttachGroupPolicyRequest,
) -> Result<(), IamError> {
    attach(tx, c, EntityKind::Group, &i.group_name, &i.policy_arn)
}

pub fn detach_group_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DetachGroupPolicyRequest,
) -> Result<(), IamError> {
    detach(tx, c, EntityKind::Group, &i.group_name, &i.policy_arn)
}

pub fn attach_role_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: AttachRolePolicyRequest,
) -> Result<(), IamError> {
    attach(tx, c, EntityKind::Role, &i.role_name, &i.policy_arn)
}

pub fn detach_role_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DetachRolePolicyRequest,
) -> Result<(), IamError> {
    detach(tx, c, EntityKind::Role, &i.role_name, &i.policy_arn)
}

pub fn list_attached_user_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListAttachedUserPoliciesRequest,
) -> Result<ListAttachedUserPoliciesResponse, IamError> {
    let page = list_attached(
        tx,
        c,
        EntityKind::User,
        &i.user_name,
        i.path_prefix.as_deref(),
        i.marker.as_deref(),
        i.max_items,
    )?;
    Ok(ListAttachedUserPoliciesResponse {
        attached_policies: Some(page.policies),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    })
}

pub fn list_attached_group_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListAttachedGroupPoliciesRequest,
) -> Result<ListAttachedGroupPoliciesResponse, IamError> {
    let page = list_attached(
        tx,
        c,
        EntityKind::Group,
        &i.group_name,
        i.path_prefix.as_deref(),
        i.marker.as_deref(),
        i.max_items,
    )?;
    Ok(ListAttachedGroupPoliciesResponse {
        attached_policies: Some(page.policies),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    })
}

pub fn list_attached_role_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListAttachedRolePoliciesRequest,
) -> Result<ListAttachedRolePoliciesResponse, IamError> {
    let page = list_attached(
        tx,
        c,
        EntityKind::Role,
        &i.role_name,
        i.path_prefix.as_deref(),
        i.marker.as_deref(),
        i.max_items,
    )?;
    Ok(ListAttachedRolePoliciesResponse {
        attached_policies: Some(page.policies),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    })
}

/// Which entity kinds an `EntityFilter` asks for, given the policy it lists.
fn wanted_kinds(filter: Option<&str>, policy: &Managed) -> Result<Vec<EntityKind>, IamError> {
    let all = vec![EntityKind::User, EntityKind::Group, EntityKind::Role];
    Ok(match filter {
        None => all,
        Some("User") => vec![EntityKind::User],
        Some("Group") => vec![EntityKind::Group],
        Some("Role") => vec![EntityKind::Role],
        // The policy-type values of the shared EntityType enum select by the kind of the
        // listed policy itself: every entity of a matching policy, none otherwise.
        Some("LocalManagedPolicy") => {
            if policy.is_aws() {
                Vec::new()
            } else {
                all
            }
        }
        Some("AWSManagedPolicy") => {
            if policy.is_aws() {
                all
            } else {
                Vec::new()
            }
        }
        Some(other) => {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'entityFilter' failed to \
                 satisfy constraint: Member must satisfy enum value set: [User, Role, Group, \
                 LocalManagedPolicy, AWSManagedPolicy]"
            )))
        }
    })
}

pub fn list_entities_for_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListEntitiesForPolicyRequest,
) -> Result<ListEntitiesForPolicyResponse, IamError> {
    let policy = policies::resolve(tx, c.account, &i.policy_arn)?
        .ok_or_else(|| policies::not_found(&i.policy_arn))?;
    let kinds = wanted_kinds(i.entity_filter.as_deref(), &policy)?;
    let usage = policies::parse_usage(i.policy_usage_filter.as_deref())?;
    let after = i
        .marker
        .as_deref()
        .map(policies::decode_marker)
        .transpose()?;
    let max = i
        .max_items
        .and_then(|m| usize::try_from(m).ok())
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_MAX_ITEMS);

    // Attachments and boundaries share one key space, so an entity that has the policy both
    // ways is listed once; the key is also the pagination position.
    let account = c.account_key();
    let arn = policy.arn();
    let prefix = format!("{arn}|");
    let mut keys: BTreeMap<String, ()> = BTreeMap::new();
    let mut collect = |key: &str| {
        if usage_entity(arn, key).is_some() && after.as_deref().is_none_or(|a| key > a) {
            keys.insert(key.to_owned(), ());
        }
        false
    };
    if usage != Usage::PermissionsBoundary {
        tx.scan::<PolicyAttachmentRecord>(
            &account,
            &prefix,
            after.as_deref(),
            usize::MAX,
            &mut |k, _| collect(k),
        )?;
    }
    if usage != Usage::PermissionsPolicy {
        tx.scan::<BoundaryUsageRecord>(
            &account,
            &prefix,
            after.as_deref(),
            usize::MAX,
            &mut |k, _| collect(k),
        )?;
    }

    let mut users_out = Vec::new();
    let mut groups_out = Vec::new();
    let mut roles_out = Vec::new();
    let mut listed = 0usize;
    let mut last_key: Option<String> = None;
    let mut is_truncated = false;
    for key in keys.into_keys() {
        let Some((kind, entity_lc)) = usage_entity(arn, &key) else {
            continue;
        };
        if !kinds.contains(&kind) {
            continue;
        }
        let Some(entity) = find_entity(tx, c.account, kind, entity_lc)? else {
            continue;
        };
        if !matches_path_prefix(&entity.path, i.path_prefix.as_deref()) {
            continue;
        }
        if listed == max {
            is_truncated = true;
            break;
        }
        listed += 1;
        match kind {
            EntityKind::User => users_out.push(PolicyUser {
                user_name: Some(entity.name),
                user_id: Some(entity.id),
            }),
            EntityKind::Group => groups_out.push(PolicyGroup {
                group_name: Some(entity.name),
                group_id: Some(entity.id),
            }),
            EntityKind::Role => roles_out.push(PolicyRole {
                role_name: Some(entity.name),
                role_id: Some(entity.id),
            }),
        }
        last_key = Some(key);
    }
    Ok(ListEntitiesForPolicyResponse {
        policy_groups: Some(groups_out),
        policy_users: Some(users_out),
        policy_roles: Some(roles_out),
        is_truncated: Some(is_truncated),
        marker: if is_truncated {
            last_key.map(|k| policies::encode_marker(&k))
        } else {
            None
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{Env, ACCOUNT};
    use serde_json::{json, Value};

    const DOC: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;
    const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
    const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
    const VIEW: &str = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess";

    fn arn(name: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
    }

    fn policy(env: &Env, name: &str) -> String {
        env.ok(
            "CreatePolicy",
            json!({"PolicyName": name, "PolicyDocument": DOC}),
        )["Policy"]["Arn"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn counts(env: &Env, policy_arn: &str) -> (i64, i64) {
        let p = env.ok("GetPolicy", json!({"PolicyArn": policy_arn}));
        (
            p["Policy"]["AttachmentCount"].as_i64().unwrap(),
            p["Policy"]["PermissionsBoundaryUsageCount"]
                .as_i64()
                .unwrap(),
        )
    }

    fn names(list: &Value, field: &str) -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|v| v[field].as_str().unwrap().to_owned())
            .collect()
    }

    /// Every entity ListEntitiesForPolicy returns across pages, as `kind:name`.
    fn entities(env: &Env, input: Value) -> Vec<String> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut req = input.clone();
            if let Some(m) = &marker {
                req["Marker"] = json!(m);
            }
            let page = env.ok("ListEntitiesForPolicy", req);
            for (list, field, kind) in [
                ("PolicyUsers", "UserName", "user"),
                ("PolicyGroups", "GroupName", "group"),
                ("PolicyRoles", "RoleName", "role"),
            ] {
                for n in names(&page[list], field) {
                    out.push(format!("{kind}:{n}"));
                }
            }
            if page["IsTruncated"] == json!(true) {
                marker = Some(page["Marker"].as_str().unwrap().to_owned());
            } else {
                assert!(page.get("Marker").is_none());
                return out;
            }
        }
    }

    #[test]
    fn attach_list_detach_user_policies() {
        let env = Env::new();
        let mine = policy(&env, "Mine");
        env.ok("CreateUser", json!({"UserName": "alice"}));

        let (code, msg) = env.err(
            "AttachUserPolicy",
            json!({"UserName": "ghost", "PolicyArn": mine}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The user with name ghost cannot be found.");
        for missing in [arn("Nope"), "arn:aws:iam::aws:policy/Nope".to_owned()] {
            let (code, msg) = env.err(
                "AttachUserPolicy",
                json!({"UserName": "alice", "PolicyArn": missing}),
            );
            assert_eq!(code, "NoSuchEntity");
            assert_eq!(
                msg,
                format!("Policy {missing} does not exist or is not attachable.")
            );
        }
        assert_eq!(
            env.err(
                "AttachUserPolicy",
                json!({"UserName": "alice", "PolicyArn": "arn:aws:iam::123456789012:role/x"}),
            )
            .0,
            "InvalidInput"
        );

        for a in [&mine, ADMIN, VIEW, &mine] {
            env.ok(
                "AttachUserPolicy",
                json!({"UserName": "ALICE", "PolicyArn": a}),
            );
        }
        assert_eq!(counts(&env, &mine), (1, 0), "attaching twice is a no-op");
        assert_eq!(counts(&env, ADMIN), (1, 0));

        let listed = env.ok("ListAttachedUserPolicies", json!({"UserName": "alice"}));
        assert_eq!(
            names(&listed["AttachedPolicies"], "PolicyArn"),
            [mine.as_str(), ADMIN, VIEW]
        );
        assert_eq!(
            names(&listed["AttachedPolicies"], "PolicyName"),
            ["Mine", "AdministratorAccess", "ViewOnlyAccess"]
        );
        assert_eq!(listed["IsTruncated"], false);
        let job = env.ok(
            "ListAttachedUserPolicies",
            json!({"UserName": "alice", "PathPrefix": "/job-function/"}),
        );
        assert_eq!(names(&job["AttachedPolicies"], "PolicyArn"), [VIEW]);
        let first = env.ok(
            "ListAttachedUserPolicies",
            json!({"UserName": "alice", "MaxItems": 2}),
        );
        assert_eq!(first["IsTruncated"], true);
        assert_eq!(first["AttachedPolicies"].as_array().unwrap().len(), 2);
        let rest = env.ok(
            "ListAttachedUserPolicies",
            json!({"UserName": "alice", "MaxItems": 2, "Marker": first["Marker"]}),
        );
        assert_eq!(names(&rest["AttachedPolicies"], "PolicyArn"), [VIEW]);
        assert_eq!(rest["IsTruncated"], false);
        assert_eq!(
            env.err("ListAttachedUserPolicies", json!({"UserName": "ghost"}))
                .1,
            "The user with name ghost cannot be found."
        );

        // An attached policy can be deleted by neither side.
        let (code, msg) = env.err("DeletePolicy", json!({"PolicyArn": mine}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(msg, "Cannot delete a policy attached to entities.");
        let (code, msg) = env.err("DeleteUser", json!({"UserName": "alice"}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(msg, "Cannot delete entity, must detach all policies first.");

        let other = policy(&env, "Other");
        let (code, msg) = env.err(
            "DetachUserPolicy",
            json!({"UserName": "alice", "PolicyArn": other}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, format!("Policy {other} was not found."));
        assert_eq!(
            env.err(
                "DetachUserPolicy",
                json!({"UserName": "ghost", "PolicyArn": other}),
            )
            .1,
            "The user with name ghost cannot be found."
        );
        for a in [&mine, ADMIN, VIEW] {
            env.ok(
                "DetachUserPolicy",
                json!({"UserName": "alice", "PolicyArn": a}),
            );
        }
        assert_eq!(counts(&env, &mine), (0, 0));
        let listed = env.ok("ListAttachedUserPolicies", json!({"UserName": "alice"}));
        assert_eq!(listed["AttachedPolicies"], json!([]));
        env.ok("DeletePolicy", json!({"PolicyArn": mine}));
        env.ok("DeleteUser", json!({"UserName": "alice"}));
    }

    #[test]
    fn at_most_ten_policies_per_user() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "bob"}));
        let arns: Vec<String> = (0..11).map(|i| policy(&env, &format!("p{i:02}"))).collect();
        for a in arns.iter().take(10) {
            env.ok(
                "AttachUserPolicy",
                json!({"UserName": "bob", "PolicyArn": a}),
            );
        }
        let (code, msg) = env.err(
            "AttachUserPolicy",
            json!({"UserName": "bob", "PolicyArn": arns[10]}),
        );
        assert_eq!(code, "LimitExceeded");
        assert_eq!(msg, "Cannot exceed quota for PoliciesPerUser: 10");
        // Re-attaching one that is attached is still fine at the quota.
        env.ok(
            "AttachUserPolicy",
            json!({"UserName": "bob", "PolicyArn": arns[0]}),
        );
        env.ok(
            "DetachUserPolicy",
            json!({"UserName": "bob", "PolicyArn": arns[0]}),
        );
        env.ok(
            "AttachUserPolicy",
            json!({"UserName": "bob", "PolicyArn": arns[10]}),
        );
    }

    #[test]
    fn groups_and_roles() {
        let env = Env::new();
        let mine = policy(&env, "Mine");
        env.ok("CreateGroup", json!({"GroupName": "devs", "Path": "/eng/"}));
        env.ok(
            "CreateRole",
            json!({"RoleName": "app", "AssumeRolePolicyDocument": TRUST}),
        );
        for (attach, list, field, name) in [
            (
                "AttachGroupPolicy",
                "ListAttachedGroupPolicies",
                "GroupName",
                "devs",
            ),
            (
                "AttachRolePolicy",
                "ListAttachedRolePolicies",
                "RoleName",
                "app",
            ),
        ] {
            for a in [&mine, ADMIN] {
                env.ok(attach, json!({field: name.to_uppercase(), "PolicyArn": a}));
            }
            let listed = env.ok(list, json!({field: name}));
            assert_eq!(
                names(&listed["AttachedPolicies"], "PolicyArn"),
                [mine.as_str(), ADMIN]
            );
        }
        assert_eq!(counts(&env, &mine), (2, 0));
        assert_eq!(
            entities(&env, json!({"PolicyArn": mine})),
            ["group:devs", "role:app"]
        );

        assert_eq!(
            env.err(
                "AttachGroupPolicy",
                json!({"GroupName": "nope", "PolicyArn": mine})
            )
            .1,
            "The group with name nope cannot be found."
        );
        assert_eq!(
            env.err(
                "AttachRolePolicy",
                json!({"RoleName": "nope", "PolicyArn": mine})
            )
            .1,
            "The role with name nope cannot be found."
        );
        assert_eq!(
            env.err("ListAttachedGroupPolicies", json!({"GroupName": "nope"}))
                .0,
            "NoSuchEntity"
        );
        assert_eq!(
            env.err("ListAttachedRolePolicies", json!({"RoleName": "nope"}))
                .0,
            "NoSuchEntity"
        );
        assert_eq!(
            env.err("DeleteGroup", json!({"GroupName": "devs"})).1,
            "Cannot delete entity, must detach all policies first."
        );
        assert_eq!(
            env.err("DeleteRole", json!({"RoleName": "app"})).1,
            "Cannot delete entity, must detach all policies first."
        );

        let extra: Vec<String> = (0..9).map(|i| policy(&env, &format!("x{i}"))).collect();
        for (attach, field, name, quota) in [
            ("AttachGroupPolicy", "GroupName", "devs", "PoliciesPerGroup"),
            ("AttachRolePolicy", "RoleName", "app", "PoliciesPerRole"),
        ] {
            for a in extra.iter().take(8) {
                env.ok(attach, json!({field: name, "PolicyArn": a}));
            }
            let (code, msg) = env.err(attach, json!({field: name, "PolicyArn": extra[8]}));
            assert_eq!(code, "LimitExceeded");
            assert_eq!(msg, format!("Cannot exceed quota for {quota}: 10"));
        }

        for (detach, field, name) in [
            ("DetachGroupPolicy", "GroupName", "devs"),
            ("DetachRolePolicy", "RoleName", "app"),
        ] {
            env.ok(detach, json!({field: name, "PolicyArn": mine}));
            assert_eq!(
                env.err(detach, json!({field: name, "PolicyArn": mine})).1,
                format!("Policy {mine} was not found.")
            );
        }
        assert_eq!(counts(&env, &mine), (0, 0));
    }

    #[test]
    fn service_linked_roles_cannot_be_changed() {
        use crate::records::RoleRecord;
        let env = Env::new();
        env.iam
            .store()
            .write(|tx| {
                use moat_store::Writer;
                let role = RoleRecord {
                    name: "AWSServiceRoleForSupport".into(),
                    id: "AROAEXAMPLEEXAMPLE123".into(),
                    path: "/aws-service-role/support.amazonaws.com/".into(),
                    arn: format!(
                        "arn:aws:iam::{ACCOUNT}:role/aws-service-role/support.amazonaws.com/\
                         AWSServiceRoleForSupport"
                    ),
                    create_date: 0,
                    assume_role_policy_document: TRUST.into(),
                    description: None,
                    max_session_duration: 3600,
                    tags: Vec::new(),
                    permissions_boundary: None,
                    last_used: None,
                };
                tx.put(ACCOUNT, &crate::records::name_key(&role.name), &role)?;
                Ok::<_, crate::IamError>(())
            })
            .unwrap();
        for op in ["AttachRolePolicy", "DetachRolePolicy"] {
            let (code, msg) = env.err(
                op,
                json!({"RoleName": "AWSServiceRoleForSupport", "PolicyArn": ADMIN}),
            );
            assert_eq!(code, "UnmodifiableEntity", "{op}");
            assert_eq!(
                msg,
                "Cannot perform the operation on the protected role 'AWSServiceRoleForSupport' \
                 - this role is only modifiable by AWS"
            );
        }
        // Reading is fine.
        let listed = env.ok(
            "ListAttachedRolePolicies",
            json!({"RoleName": "AWSServiceRoleForSupport"}),
        );
        assert_eq!(listed["AttachedPolicies"], json!([]));
    }

    #[test]
    fn permissions_boundaries_are_counted_and_block_deletion() {
        let env = Env::new();
        let fence = policy(&env, "Fence");
        let (code, msg) = env.err(
            "CreateUser",
            json!({"UserName": "u", "PermissionsBoundary": arn("Nope")}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(
            msg,
            format!(
                "Policy {} does not exist or is not attachable.",
                arn("Nope")
            )
        );
        assert_eq!(
            env.err("GetUser", json!({"UserName": "u"})).0,
            "NoSuchEntity",
            "a failed CreateUser leaves nothing behind"
        );
        env.ok(
            "CreateUser",
            json!({"UserName": "u", "PermissionsBoundary": fence}),
        );
        env.ok(
            "CreateUser",
            json!({"UserName": "v", "PermissionsBoundary": ADMIN}),
        );
        env.ok(
            "CreateRole",
            json!({"RoleName": "r", "AssumeRolePolicyDocument": TRUST, "PermissionsBoundary": fence}),
        );
        assert_eq!(counts(&env, &fence), (0, 2));
        assert_eq!(counts(&env, ADMIN), (0, 1));

        let (code, msg) = env.err("DeletePolicy", json!({"PolicyArn": fence}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(msg, "Cannot delete a policy attached to entities.");

        let boundary = env.ok(
            "ListPolicies",
            json!({"Scope": "Local", "PolicyUsageFilter": "PermissionsBoundary"}),
        );
        assert_eq!(names(&boundary["Policies"], "PolicyName"), ["Fence"]);
        let attached = env.ok("ListPolicies", json!({"OnlyAttached": true}));
        assert_eq!(attached["Policies"], json!([]));

        env.ok("DeleteUser", json!({"UserName": "u"}));
        env.ok("DeleteRole", json!({"RoleName": "r"}));
        assert_eq!(counts(&env, &fence), (0, 0));
        env.ok("DeletePolicy", json!({"PolicyArn": fence}));
    }

    #[test]
    fn entities_for_policy_filters_and_paginates() {
        let env = Env::new();
        let p = policy(&env, "Shared");
        for (user, path) in [("u1", "/a/"), ("u2", "/b/"), ("u3", "/a/x/")] {
            env.ok("CreateUser", json!({"UserName": user, "Path": path}));
            env.ok(
                "AttachUserPolicy",
                json!({"UserName": user, "PolicyArn": p}),
            );
        }
        env.ok("CreateGroup", json!({"GroupName": "g1", "Path": "/a/"}));
        env.ok(
            "AttachGroupPolicy",
            json!({"GroupName": "g1", "PolicyArn": p}),
        );
        env.ok(
            "CreateRole",
            json!({"RoleName": "r1", "Path": "/b/", "AssumeRolePolicyDocument": TRUST}),
        );
        env.ok(
            "AttachRolePolicy",
            json!({"RoleName": "r1", "PolicyArn": p}),
        );
        // Boundary only, and both ways at once.
        env.ok(
            "CreateUser",
            json!({"UserName": "fenced", "Path": "/a/", "PermissionsBoundary": p}),
        );
        env.ok(
            "CreateRole",
            json!({"RoleName": "both", "AssumeRolePolicyDocument": TRUST, "PermissionsBoundary": p}),
        );
        env.ok(
            "AttachRolePolicy",
            json!({"RoleName": "both", "PolicyArn": p}),
        );
        assert_eq!(counts(&env, &p), (6, 2));

        let mut everything = entities(&env, json!({"PolicyArn": p}));
        everything.sort();
        assert_eq!(
            everything,
            [
                "group:g1",
                "role:both",
                "role:r1",
                "user:fenced",
                "user:u1",
                "user:u2",
                "user:u3"
            ]
        );
        let mut paged = entities(&env, json!({"PolicyArn": p, "MaxItems": 2}));
        paged.sort();
        assert_eq!(paged, everything);

        assert_eq!(
            entities(&env, json!({"PolicyArn": p, "EntityFilter": "User"})),
            ["user:fenced", "user:u1", "user:u2", "user:u3"]
        );
        assert_eq!(
            entities(
                &env,
                json!({"PolicyArn": p, "EntityFilter": "Role", "PolicyUsageFilter": "PermissionsPolicy"})
            ),
            ["role:both", "role:r1"]
        );
        assert_eq!(
            entities(
                &env,
                json!({"PolicyArn": p, "PolicyUsageFilter": "PermissionsBoundary"})
            ),
            ["user:fenced", "role:both"]
        );
        let mut under_a = entities(
            &env,
            json!({"PolicyArn": p, "PathPrefix": "/a/", "MaxItems": 1}),
        );
        under_a.sort();
        assert_eq!(under_a, ["group:g1", "user:fenced", "user:u1", "user:u3"]);
        assert_eq!(
            entities(
                &env,
                json!({"PolicyArn": p, "EntityFilter": "AWSManagedPolicy"})
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            entities(
                &env,
                json!({"PolicyArn": p, "EntityFilter": "LocalManagedPolicy"})
            )
            .len(),
            7
        );

        // Users carry their ids; an empty listing still has all three lists.
        let page = env.ok(
            "ListEntitiesForPolicy",
            json!({"PolicyArn": p, "EntityFilter": "Group"}),
        );
        assert!(page["PolicyGroups"][0]["GroupId"]
            .as_str()
            .unwrap()
            .starts_with("AGPA"));
        let none = env.ok("ListEntitiesForPolicy", json!({"PolicyArn": ADMIN}));
        assert_eq!(none["PolicyUsers"], json!([]));
        assert_eq!(none["PolicyGroups"], json!([]));
        assert_eq!(none["PolicyRoles"], json!([]));
        assert_eq!(none["IsTruncated"], false);

        assert_eq!(
            env.err("ListEntitiesForPolicy", json!({"PolicyArn": arn("Nope")}))
                .1,
            format!("Policy {} was not found.", arn("Nope"))
        );
        assert_eq!(
            env.err(
                "ListEntitiesForPolicy",
                json!({"PolicyArn": p, "Marker": "junk"})
            )
            .1,
            "Invalid Marker."
        );
        assert_eq!(
            env.err(
                "ListEntitiesForPolicy",
                json!({"PolicyArn": p, "EntityFilter": "Robot"})
            )
            .0,
            "ValidationError"
        );

        // ListPolicies sees the same usage.
        let attached = env.ok(
            "ListPolicies",
            json!({"Scope": "Local", "OnlyAttached": true}),
        );
        assert_eq!(names(&attached["Policies"], "PolicyName"), ["Shared"]);
        assert_eq!(attached["Policies"][0]["AttachmentCount"], 6);
        assert_eq!(attached["Policies"][0]["PermissionsBoundaryUsageCount"], 2);
    }

    #[test]
    fn renamed_users_keep_their_policies() {
        let env = Env::new();
        let p = policy(&env, "Keep");
        env.ok("CreateUser", json!({"UserName": "old"}));
        env.ok(
            "AttachUserPolicy",
            json!({"UserName": "old", "PolicyArn": p}),
        );
        env.ok(
            "UpdateUser",
            json!({"UserName": "old", "NewUserName": "New"}),
        );
        assert_eq!(entities(&env, json!({"PolicyArn": p})), ["user:New"]);
        let listed = env.ok("ListAttachedUserPolicies", json!({"UserName": "new"}));
        assert_eq!(
            names(&listed["AttachedPolicies"], "PolicyArn"),
            [p.as_str()]
        );
        env.ok(
            "DetachUserPolicy",
            json!({"UserName": "NEW", "PolicyArn": p}),
        );
        assert_eq!(counts(&env, &p), (0, 0));
    }

    #[test]
    fn counts_are_not_confused_by_arns_that_extend_another() {
        // A path containing `|` would make one policy's usage keys extend another's.
        let env = Env::new();
        let short = policy(&env, "a");
        let long = env.ok(
            "CreatePolicy",
            json!({"PolicyName": "c", "PolicyDocument": DOC, "Path": "/a|b/"}),
        )["Policy"]["Arn"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(long, format!("{short}|b/c"));
        env.ok("CreateUser", json!({"UserName": "u"}));
        env.ok(
            "AttachUserPolicy",
            json!({"UserName": "u", "PolicyArn": long}),
        );
        assert_eq!(counts(&env, &short), (0, 0));
        assert_eq!(counts(&env, &long), (1, 0));
        assert!(entities(&env, json!({"PolicyArn": short})).is_empty());
    }
}
