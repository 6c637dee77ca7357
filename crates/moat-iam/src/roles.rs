//! IAM roles: the entity, its trust policy, description, session duration and tags.
//!
//! Service-linked roles (path `/aws-service-role/...`) belong to the AWS service that created
//! them: customers may read them, tag them and edit their description, but every other change
//! through these APIs is refused with `UnmodifiableEntity`, as IAM does.

use moat_store::{Reader, Record, Writer};
use moat_types::{iam_path_arn, new_unique_id, AccountId, IdKind};

use crate::common::{
    check_policy_document, encode_document, matches_path_prefix, merge_tags, paginate,
    paginate_vec, path_or_default, remove_tags, tags_from, timestamp, wire_tags, wire_tags_opt,
    Call, DocumentUse,
};
use crate::records::{
    name_key, AttachedPolicyRecord, BoundaryUsageRecord, EntityKind, InlinePolicyRecord,
    RoleLastUsedRecord, RoleRecord,
};
use crate::users::boundary;
use crate::{
    attachments, CreateRoleRequest, CreateRoleResponse, DeleteRoleRequest, GetRoleRequest,
    GetRoleResponse, IamError, ListRoleTagsRequest, ListRoleTagsResponse, ListRolesRequest,
    ListRolesResponse, Role, RoleLastUsed, TagRoleRequest, UntagRoleRequest,
    UpdateAssumeRolePolicyRequest, UpdateRoleDescriptionRequest, UpdateRoleDescriptionResponse,
    UpdateRoleRequest, UpdateRoleResponse,
};

/// IAM's default quota of roles per account.
pub const MAX_ROLES: u64 = 1_000;

/// The session duration a role gets when the caller names none: one hour.
pub const DEFAULT_MAX_SESSION_DURATION: i32 = 3_600;
/// The longest a role's sessions may be allowed to last: twelve hours.
pub const MAX_MAX_SESSION_DURATION: i32 = 43_200;

/// The path prefix of service-linked roles, reserved for AWS services.
pub const SERVICE_LINKED_PATH_PREFIX: &str = "/aws-service-role/";

pub fn find(
    tx: &impl Reader,
    account: AccountId,
    name: &str,
) -> Result<Option<RoleRecord>, IamError> {
    Ok(tx.get::<RoleRecord>(&account.to_string(), &name_key(name))?)
}

pub fn require(tx: &impl Reader, account: AccountId, name: &str) -> Result<RoleRecord, IamError> {
    find(tx, account, name)?.ok_or_else(|| IamError::no_such_role(name))
}

/// Whether a role belongs to an AWS service rather than to the customer.
pub fn is_service_linked(role: &RoleRecord) -> bool {
    role.path.starts_with(SERVICE_LINKED_PATH_PREFIX)
}

/// Refuses changes to a service-linked role with IAM's own message.
pub fn check_modifiable(role: &RoleRecord) -> Result<(), IamError> {
    if is_service_linked(role) {
        return Err(IamError::UnmodifiableEntity(format!(
            "Cannot perform the operation on the protected role '{}' - this role is only \
             modifiable by AWS",
            role.name
        )));
    }
    Ok(())
}

/// The role, if it exists and the customer may change it. For the other areas that write to a
/// role (inline and attached policies).
pub fn require_modifiable(
    tx: &impl Reader,
    account: AccountId,
    name: &str,
) -> Result<RoleRecord, IamError> {
    let role = require(tx, account, name)?;
    check_modifiable(&role)?;
    Ok(role)
}

/// How much of a role a response carries; IAM returns different subsets per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleView {
    /// `CreateRole`: what was set, without `RoleLastUsed`.
    Created,
    /// `GetRole`, `UpdateRoleDescription`: everything, with `RoleLastUsed` always present.
    Full,
    /// `ListRoles`: IAM leaves out `PermissionsBoundary`, `RoleLastUsed` and `Tags`.
    Listed,
}

pub fn wire_role(r: &RoleRecord, view: RoleView) -> Role {
    let detailed = view != RoleView::Listed;
    Role {
        path: r.path.clone(),
        role_name: r.name.clone(),
        role_id: r.id.clone(),
        arn: r.arn.clone(),
        create_date: timestamp(r.create_date),
        assume_role_policy_document: Some(encode_document(&r.assume_role_policy_document)),
        description: r.description.clone(),
        max_session_duration: Some(r.max_session_duration),
        permissions_boundary: if detailed {
            r.permissions_boundary.as_ref().map(boundary)
        } else {
            None
        },
        tags: if detailed {
            wire_tags_opt(&r.tags)
        } else {
            None
        },
        role_last_used: (view == RoleView::Full).then(|| wire_last_used(r.last_used.as_ref())),
    }
}

/// IAM always sends `RoleLastUsed`, empty for a role never used.
pub fn wire_last_used(last_used: Option<&RoleLastUsedRecord>) -> RoleLastUsed {
    last_used.map_or_else(RoleLastUsed::default, |u| RoleLastUsed {
        last_used_date: Some(timestamp(u.date)),
        region: Some(u.region.clone()),
    })
}

/// The server validates the model's range before a handler runs; this keeps the handler safe
/// when called directly, with the same message.
fn check_max_session_duration(value: i32) -> Result<(), IamError> {
    let rule = if value < DEFAULT_MAX_SESSION_DURATION {
        format!("greater than or equal to {DEFAULT_MAX_SESSION_DURATION}")
    } else if value > MAX_MAX_SESSION_DURATION {
        format!("less than or equal to {MAX_MAX_SESSION_DURATION}")
    } else {
        return Ok(());
    };
    Err(IamError::Validation(format!(
        "1 validation error detected: Value '{value}' at 'maxSessionDuration' failed to satisfy \
         constraint: Member must have value {rule}"
    )))
}

/// IAM keeps no empty description: an empty one clears it.
fn description_or_none(description: Option<String>) -> Option<String> {
    description.filter(|d| !d.is_empty())
}

fn save(tx: &mut impl Writer, c: &Call<'_>, role: &RoleRecord) -> Result<(), IamError> {
    tx.put(&c.account_key(), &name_key(&role.name), role)?;
    Ok(())
}

pub fn create_role(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateRoleRequest,
) -> Result<CreateRoleResponse, IamError> {
    let account = c.account_key();
    let key = name_key(&i.role_name);
    let path = path_or_default(i.path.as_deref());
    if path.starts_with(SERVICE_LINKED_PATH_PREFIX) {
        return Err(IamError::InvalidInput(
            "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles"
                .to_owned(),
        ));
    }
    if tx.exists::<RoleRecord>(&account, &key)? {
        return Err(IamError::EntityAlreadyExists(format!(
            "Role with name {} already exists.",
            i.role_name
        )));
    }
    if tx.count(RoleRecord::KIND, &account, "")? >= MAX_ROLES {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for RolesPerAccount: {MAX_ROLES}"
        )));
    }
    let max_session_duration = i
        .max_session_duration
        .unwrap_or(DEFAULT_MAX_SESSION_DURATION);
    check_max_session_duration(max_session_duration)?;
    check_policy_document(&i.assume_role_policy_document, DocumentUse::Trust)?;
    let tags = tags_from(i.tags.as_ref())?;
    let mut record = RoleRecord {
        arn: iam_path_arn(c.account, "role", &path, &i.role_name),
        name: i.role_name,
        id: new_unique_id(IdKind::Role),
        path,
        create_date: c.now_ms(),
        assume_role_policy_document: i.assume_role_policy_document,
        description: description_or_none(i.description),
        max_session_duration,
        tags,
        permissions_boundary: None,
        last_used: None,
    };
    if let Some(arn) = i.permissions_boundary {
        attachments::set_boundary(tx, c, EntityKind::Role, &record.name, &arn)?;
        record.permissions_boundary = Some(arn);
    }
    tx.put(&account, &key, &record)?;
    Ok(CreateRoleResponse {
        role: wire_role(&record, RoleView::Created),
    })
}

pub fn get_role(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetRoleRequest,
) -> Result<GetRoleResponse, IamError> {
    let role = require(tx, c.account, &i.role_name)?;
    Ok(GetRoleResponse {
        role: wire_role(&role, RoleView::Full),
    })
}

pub fn update_role(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateRoleRequest,
) -> Result<UpdateRoleResponse, IamError> {
    let mut role = require(tx, c.account, &i.role_name)?;
    // The description of any role may be edited, service-linked ones included; the session
    // duration of a service-linked role is the service's to decide.
    if let Some(duration) = i.max_session_duration {
        check_modifiable(&role)?;
        check_max_session_duration(duration)?;
        role.max_session_duration = duration;
    }
    if let Some(description) = i.description {
        role.description = description_or_none(Some(description));
    }
    save(tx, c, &role)?;
    Ok(UpdateRoleResponse {})
}

pub fn update_role_description(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateRoleDescriptionRequest,
) -> Result<UpdateRoleDescriptionResponse, IamError> {
    let mut role = require(tx, c.account, &i.role_name)?;
    role.description = description_or_none(Some(i.description));
    save(tx, c, &role)?;
    Ok(UpdateRoleDescriptionResponse {
        role: Some(wire_role(&role, RoleView::Full)),
    })
}

pub fn update_assume_role_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateAssumeRolePolicyRequest,
) -> Result<(), IamError> {
    let mut role = require_modifiable(tx, c.account, &i.role_name)?;
    check_policy_document(&i.policy_document, DocumentUse::Trust)?;
    role.assume_role_policy_document = i.policy_document;
    save(tx, c, &role)
}

pub fn delete_role(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteRoleRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    let role = require_modifiable(tx, c.account, &i.role_name)?;
    let key = name_key(&role.name);
    let kind = EntityKind::Role.key();
    let conflict = |what: &str| {
        Err(IamError::DeleteConflict(format!(
            "Cannot delete entity, must {what} first."
        )))
    };
    // Instance profiles are not served yet; when they are, "remove roles from instance
    // profile" comes first, as in IAM.
    if tx.count(AttachedPolicyRecord::KIND, &account, &format!("{kind}/{key}/"))? > 0 {
        return conflict("detach all policies");
    }
    if tx.count(InlinePolicyRecord::KIND, &account, &format!("{kind}/{key}/"))? > 0 {
        return conflict("delete policies");
    }
    if let Some(arn) = &role.permissions_boundary {
        tx.delete::<BoundaryUsageRecord>(&account, &format!("{arn}|{kind}|{key}"))?;
    }
    tx.delete::<RoleRecord>(&account, &key)?;
    Ok(())
}

pub fn list_roles(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListRolesRequest,
) -> Result<ListRolesResponse, IamError> {
    let prefix = i.path_prefix.as_deref();
    let page = paginate::<RoleRecord>(
        tx,
        &c.account_key(),
        "",
        i.marker.as_deref(),
        i.max_items,
        &mut |_, r| matches_path_prefix(&r.path, prefix),
    )?;
    Ok(ListRolesResponse {
        roles: page
            .items
            .iter()
            .map(|r| wire_role(r, RoleView::Listed))
            .collect(),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    })
}

pub fn tag_role(tx: &mut impl Writer, c: &Call<'_>, i: TagRoleRequest) -> Result<(), IamError> {
    let mut role = require(tx, c.account, &i.role_name)?;
    merge_tags(&mut role.tags, &i.tags)?;
    save(tx, c, &role)
}

pub fn untag_role(tx: &mut impl Writer, c: &Call<'_>, i: UntagRoleRequest) -> Result<(), IamError> {
    let mut role = require(tx, c.account, &i.role_name)?;
    remove_tags(&mut role.tags, &i.tag_keys);
    save(tx, c, &role)
}

pub fn list_role_tags(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListRoleTagsRequest,
) -> Result<ListRoleTagsResponse, IamError> {
    let role = require(tx, c.account, &i.role_name)?;
    let (tags, is_truncated, marker) =
        paginate_vec(wire_tags(&role.tags), i.marker.as_deref(), i.max_items)?;
    Ok(ListRoleTagsResponse {
        tags,
        is_truncated: Some(is_truncated),
        marker,
    })
}
