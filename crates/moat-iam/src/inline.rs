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
