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
    name_key, AttachedPolicyRecord, EntityKind, InlinePolicyRecord, RoleLastUsedRecord, RoleRecord,
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
            r.permissions_boundary.as_deref().map(boundary)
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
    if tx.count(
        AttachedPolicyRecord::KIND,
        &account,
        &format!("{kind}/{key}/"),
    )? > 0
    {
        return conflict("detach all policies");
    }
    if tx.count(
        InlinePolicyRecord::KIND,
        &account,
        &format!("{kind}/{key}/"),
    )? > 0
    {
        return conflict("delete policies");
    }
    if let Some(arn) = &role.permissions_boundary {
        attachments::clear_boundary(tx, c, EntityKind::Role, &role.name, arn)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Env, ACCOUNT};
    use serde_json::{json, Value};

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

    fn create(env: &Env, name: &str) -> Value {
        env.ok(
            "CreateRole",
            json!({"RoleName": name, "AssumeRolePolicyDocument": TRUST}),
        )
    }

    /// Stores a role as an AWS service would create it; CreateRole refuses the path.
    fn put_service_linked(env: &Env, name: &str) {
        let account: AccountId = ACCOUNT.parse().unwrap();
        let path = "/aws-service-role/support.amazonaws.com/";
        let record = RoleRecord {
            name: name.to_owned(),
            id: new_unique_id(IdKind::Role),
            path: path.to_owned(),
            arn: iam_path_arn(account, "role", path, name),
            create_date: 0,
            assume_role_policy_document: TRUST.to_owned(),
            description: None,
            max_session_duration: 3600,
            tags: Vec::new(),
            permissions_boundary: None,
            last_used: None,
        };
        env.iam
            .store()
            .write(|tx| tx.put(ACCOUNT, &name_key(name), &record))
            .unwrap();
    }

    #[test]
    fn create_returns_the_role_with_aws_ids_and_encoded_trust_policy() {
        let env = Env::new();
        let out = env.ok(
            "CreateRole",
            json!({"RoleName": "App", "Path": "/svc/", "AssumeRolePolicyDocument": TRUST,
                "Description": "runs the app", "MaxSessionDuration": 7200,
                "Tags": [{"Key": "team", "Value": "core"}]}),
        );
        let role = &out["Role"];
        assert_eq!(role["Arn"], "arn:aws:iam::123456789012:role/svc/App");
        assert_eq!(role["RoleName"], "App");
        assert_eq!(role["Path"], "/svc/");
        let id = role["RoleId"].as_str().unwrap();
        assert!(id.starts_with("AROA") && id.len() == 21, "{id}");
        assert_eq!(role["AssumeRolePolicyDocument"], encode_document(TRUST));
        assert_eq!(role["Description"], "runs the app");
        assert_eq!(role["MaxSessionDuration"], 7200);
        assert_eq!(role["Tags"], json!([{"Key": "team", "Value": "core"}]));
        assert!(role.get("RoleLastUsed").is_none());
        assert!(role.get("PermissionsBoundary").is_none());
        assert!(role.get("CreateDate").is_some());
    }

    #[test]
    fn create_defaults_path_and_session_duration() {
        let env = Env::new();
        let role = &create(&env, "plain")["Role"];
        assert_eq!(role["Path"], "/");
        assert_eq!(role["Arn"], "arn:aws:iam::123456789012:role/plain");
        assert_eq!(role["MaxSessionDuration"], 3600);
        assert!(role.get("Description").is_none());
        assert!(role.get("Tags").is_none());
    }

    #[test]
    fn names_are_unique_case_insensitively() {
        let env = Env::new();
        create(&env, "Deploy");
        let (code, msg) = env.err(
            "CreateRole",
            json!({"RoleName": "DEPLOY", "AssumeRolePolicyDocument": TRUST}),
        );
        assert_eq!(code, "EntityAlreadyExists");
        assert_eq!(msg, "Role with name DEPLOY already exists.");
        let got = env.ok("GetRole", json!({"RoleName": "deploy"}));
        assert_eq!(got["Role"]["RoleName"], "Deploy");
    }

    #[test]
    fn create_rejects_bad_input() {
        let env = Env::new();
        for (duration, rule) in [
            (3599, "greater than or equal to 3600"),
            (43201, "less than or equal to 43200"),
        ] {
            let (code, msg) = env.err(
                "CreateRole",
                json!({"RoleName": "r", "AssumeRolePolicyDocument": TRUST,
                    "MaxSessionDuration": duration}),
            );
            assert_eq!(code, "ValidationError");
            assert_eq!(
                msg,
                format!(
                    "1 validation error detected: Value '{duration}' at 'maxSessionDuration' \
                     failed to satisfy constraint: Member must have value {rule}"
                )
            );
        }
        for duration in [3600, 43200] {
            env.ok(
                "CreateRole",
                json!({"RoleName": format!("r{duration}"), "AssumeRolePolicyDocument": TRUST,
                    "MaxSessionDuration": duration}),
            );
        }
        let (code, msg) = env.err(
            "CreateRole",
            json!({"RoleName": "slr", "Path": "/aws-service-role/x.amazonaws.com/",
                "AssumeRolePolicyDocument": TRUST}),
        );
        assert_eq!(code, "InvalidInput");
        assert_eq!(
            msg,
            "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles"
        );
        let (code, _) = env.err(
            "CreateRole",
            json!({"RoleName": "bad", "AssumeRolePolicyDocument": "{not json"}),
        );
        assert_eq!(code, "MalformedPolicyDocument");
        let dup_tags = json!([{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}]);
        let (code, _) = env.err(
            "CreateRole",
            json!({"RoleName": "tags", "AssumeRolePolicyDocument": TRUST, "Tags": dup_tags}),
        );
        assert_eq!(code, "InvalidInput");
        // Nothing was left behind by the failures.
        let roles = env.ok("ListRoles", json!({}));
        assert_eq!(roles["Roles"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn trust_policy_must_be_a_trust_policy() {
        let env = Env::new();
        let identity = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let (code, _) = env.err(
            "CreateRole",
            json!({"RoleName": "r", "AssumeRolePolicyDocument": identity}),
        );
        assert_eq!(code, "MalformedPolicyDocument");
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::123456789012:root"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"{}"}}}}}}]}}"#,
            "x".repeat(2048)
        );
        let (code, msg) = env.err(
            "CreateRole",
            json!({"RoleName": "r", "AssumeRolePolicyDocument": big}),
        );
        assert_eq!(code, "LimitExceeded");
        assert_eq!(msg, "Cannot exceed quota for ACLSizePerRole: 2048");
    }

    #[test]
    fn role_quota_is_enforced() {
        let env = Env::new();
        let account: AccountId = ACCOUNT.parse().unwrap();
        env.iam
            .store()
            .write(|tx| {
                for n in 0..MAX_ROLES {
                    let name = format!("r{n}");
                    let record = RoleRecord {
                        arn: iam_path_arn(account, "role", "/", &name),
                        id: new_unique_id(IdKind::Role),
                        path: "/".to_owned(),
                        create_date: 0,
                        assume_role_policy_document: TRUST.to_owned(),
                        description: None,
                        max_session_duration: 3600,
                        tags: Vec::new(),
                        permissions_boundary: None,
                        last_used: None,
                        name,
                    };
                    tx.put(ACCOUNT, &name_key(&record.name), &record)?;
                }
                Ok::<_, moat_store::StoreError>(())
            })
            .unwrap();
        let (code, msg) = env.err(
            "CreateRole",
            json!({"RoleName": "one-too-many", "AssumeRolePolicyDocument": TRUST}),
        );
        assert_eq!(code, "LimitExceeded");
        assert_eq!(msg, "Cannot exceed quota for RolesPerAccount: 1000");
    }

    #[test]
    fn get_role_returns_everything_with_role_last_used() {
        let env = Env::new();
        env.ok(
            "CreateRole",
            json!({"RoleName": "r", "AssumeRolePolicyDocument": TRUST, "Description": "d",
                "Tags": [{"Key": "k", "Value": "v"}]}),
        );
        let role = env.ok("GetRole", json!({"RoleName": "r"}))["Role"].clone();
        assert_eq!(
            role["RoleLastUsed"],
            json!({}),
            "never used: present and empty"
        );
        assert_eq!(role["Description"], "d");
        assert_eq!(role["MaxSessionDuration"], 3600);
        assert_eq!(role["Tags"], json!([{"Key": "k", "Value": "v"}]));
        assert_eq!(role["AssumeRolePolicyDocument"], encode_document(TRUST));

        env.iam
            .store()
            .write(|tx| {
                let mut r = tx.get::<RoleRecord>(ACCOUNT, "r")?.unwrap();
                r.last_used = Some(RoleLastUsedRecord {
                    date: 1_700_000_000_000,
                    region: "eu-west-1".to_owned(),
                });
                tx.put(ACCOUNT, "r", &r)
            })
            .unwrap();
        let role = env.ok("GetRole", json!({"RoleName": "R"}))["Role"].clone();
        assert_eq!(role["RoleLastUsed"]["Region"], "eu-west-1");
        assert!(role["RoleLastUsed"].get("LastUsedDate").is_some());

        let (code, msg) = env.err("GetRole", json!({"RoleName": "nope"}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The role with name nope cannot be found.");
    }

    #[test]
    fn update_role_and_description() {
        let env = Env::new();
        env.ok(
            "CreateRole",
            json!({"RoleName": "r", "AssumeRolePolicyDocument": TRUST, "Description": "old"}),
        );
        let out = env.ok(
            "UpdateRole",
            json!({"RoleName": "R", "MaxSessionDuration": 43200}),
        );
        assert_eq!(out, json!({}));
        let role = env.ok("GetRole", json!({"RoleName": "r"}))["Role"].clone();
        assert_eq!(role["MaxSessionDuration"], 43200);
        assert_eq!(role["Description"], "old", "an absent description is kept");

        env.ok("UpdateRole", json!({"RoleName": "r", "Description": "new"}));
        let role = env.ok("GetRole", json!({"RoleName": "r"}))["Role"].clone();
        assert_eq!(role["Description"], "new");
        assert_eq!(role["MaxSessionDuration"], 43200);

        let out = env.ok(
            "UpdateRoleDescription",
            json!({"RoleName": "r", "Description": "newer"}),
        );
        assert_eq!(out["Role"]["Description"], "newer");
        assert_eq!(out["Role"]["RoleName"], "r");
        assert_eq!(out["Role"]["RoleLastUsed"], json!({}));

        env.ok("UpdateRole", json!({"RoleName": "r", "Description": ""}));
        let role = env.ok("GetRole", json!({"RoleName": "r"}))["Role"].clone();
        assert!(role.get("Description").is_none(), "an empty one clears it");

        let (code, _) = env.err(
            "UpdateRole",
            json!({"RoleName": "r", "MaxSessionDuration": 60}),
        );
        assert_eq!(code, "ValidationError");
        for (op, input) in [
            (
                "UpdateRole",
                json!({"RoleName": "ghost", "Description": "x"}),
            ),
            (
                "UpdateRoleDescription",
                json!({"RoleName": "ghost", "Description": "x"}),
            ),
        ] {
            let (code, msg) = env.err(op, input);
            assert_eq!(code, "NoSuchEntity", "{op}");
            assert_eq!(msg, "The role with name ghost cannot be found.", "{op}");
        }
    }

    #[test]
    fn update_assume_role_policy() {
        let env = Env::new();
        create(&env, "r");
        let other = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
        env.ok(
            "UpdateAssumeRolePolicy",
            json!({"RoleName": "R", "PolicyDocument": other}),
        );
        let role = env.ok("GetRole", json!({"RoleName": "r"}))["Role"].clone();
        assert_eq!(role["AssumeRolePolicyDocument"], encode_document(other));

        let (code, _) = env.err(
            "UpdateAssumeRolePolicy",
            json!({"RoleName": "r", "PolicyDocument": "[]"}),
        );
        assert_eq!(code, "MalformedPolicyDocument");
        let role = env.ok("GetRole", json!({"RoleName": "r"}))["Role"].clone();
        assert_eq!(role["AssumeRolePolicyDocument"], encode_document(other));

        let (code, msg) = env.err(
            "UpdateAssumeRolePolicy",
            json!({"RoleName": "ghost", "PolicyDocument": TRUST}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The role with name ghost cannot be found.");
    }

    #[test]
    fn delete_role_requires_policies_gone_first() {
        let env = Env::new();
        create(&env, "r");
        env.ok(
            "AttachRolePolicy",
            json!({"RoleName": "r", "PolicyArn": READ_ONLY}),
        );
        env.ok(
            "PutRolePolicy",
            json!({"RoleName": "r", "PolicyName": "inline", "PolicyDocument":
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#}),
        );
        let (code, msg) = env.err("DeleteRole", json!({"RoleName": "r"}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(msg, "Cannot delete entity, must detach all policies first.");
        env.ok(
            "DetachRolePolicy",
            json!({"RoleName": "r", "PolicyArn": READ_ONLY}),
        );
        let (code, msg) = env.err("DeleteRole", json!({"RoleName": "r"}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(msg, "Cannot delete entity, must delete policies first.");
        env.ok(
            "DeleteRolePolicy",
            json!({"RoleName": "r", "PolicyName": "inline"}),
        );
        env.ok("DeleteRole", json!({"RoleName": "R"}));
        let (code, msg) = env.err("DeleteRole", json!({"RoleName": "r"}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The role with name r cannot be found.");
        // The name is free again.
        create(&env, "r");
    }

    #[test]
    fn permissions_boundary_is_recorded_and_released() {
        let env = Env::new();
        let out = env.ok(
            "CreateRole",
            json!({"RoleName": "bounded", "AssumeRolePolicyDocument": TRUST,
                "PermissionsBoundary": READ_ONLY}),
        );
        let expected = json!({"PermissionsBoundaryArn": READ_ONLY,
            "PermissionsBoundaryType": "PermissionsBoundaryPolicy"});
        assert_eq!(out["Role"]["PermissionsBoundary"], expected);
        let got = env.ok("GetRole", json!({"RoleName": "bounded"}));
        assert_eq!(got["Role"]["PermissionsBoundary"], expected);
        let usage_key = format!("{READ_ONLY}|role|bounded");
        let used = |env: &Env| {
            env.iam
                .store()
                .read(|tx| tx.exists::<BoundaryUsage>(ACCOUNT, &usage_key))
                .unwrap()
        };
        type BoundaryUsage = crate::records::BoundaryUsageRecord;
        assert!(used(&env));
        env.ok("DeleteRole", json!({"RoleName": "bounded"}));
        assert!(!used(&env));

        let missing = "arn:aws:iam::123456789012:policy/missing";
        let (code, msg) = env.err(
            "CreateRole",
            json!({"RoleName": "b2", "AssumeRolePolicyDocument": TRUST,
                "PermissionsBoundary": missing}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(
            msg,
            format!("Policy {missing} does not exist or is not attachable.")
        );
        assert_eq!(
            env.err("GetRole", json!({"RoleName": "b2"})).0,
            "NoSuchEntity"
        );
    }

    #[test]
    fn list_roles_paginates_filters_and_omits_details() {
        let env = Env::new();
        for i in 0..7 {
            let path = if i % 2 == 0 { "/even/" } else { "/odd/" };
            env.ok(
                "CreateRole",
                json!({"RoleName": format!("r{i}"), "Path": path, "AssumeRolePolicyDocument": TRUST,
                    "Description": "d", "Tags": [{"Key": "k", "Value": "v"}],
                    "PermissionsBoundary": READ_ONLY}),
            );
        }
        let mut names = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut input = json!({"MaxItems": 3});
            if let Some(m) = &marker {
                input["Marker"] = json!(m);
            }
            let page = env.ok("ListRoles", input);
            for r in page["Roles"].as_array().unwrap() {
                names.push(r["RoleName"].as_str().unwrap().to_owned());
                assert!(r.get("Tags").is_none());
                assert!(r.get("PermissionsBoundary").is_none());
                assert!(r.get("RoleLastUsed").is_none());
                assert_eq!(r["Description"], "d");
                assert_eq!(r["MaxSessionDuration"], 3600);
                assert_eq!(r["AssumeRolePolicyDocument"], encode_document(TRUST));
            }
            if page["IsTruncated"] == json!(true) {
                marker = Some(page["Marker"].as_str().unwrap().to_owned());
            } else {
                assert!(page.get("Marker").is_none());
                break;
            }
        }
        assert_eq!(names, ["r0", "r1", "r2", "r3", "r4", "r5", "r6"]);
        let even = env.ok("ListRoles", json!({"PathPrefix": "/even/"}));
        assert_eq!(even["Roles"].as_array().unwrap().len(), 4);
        assert_eq!(even["IsTruncated"], json!(false));
        let none = env.ok("ListRoles", json!({"PathPrefix": "/nothing/"}));
        assert_eq!(none["Roles"], json!([]));
        assert_eq!(
            env.err("ListRoles", json!({"Marker": "bogus"})).0,
            "InvalidInput"
        );
    }

    #[test]
    fn tags_add_replace_remove_and_paginate() {
        let env = Env::new();
        create(&env, "r");
        env.ok(
            "TagRole",
            json!({"RoleName": "r", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}),
        );
        env.ok(
            "TagRole",
            json!({"RoleName": "R", "Tags": [{"Key": "A", "Value": "3"}]}),
        );
        let tags = env.ok("ListRoleTags", json!({"RoleName": "r"}));
        assert_eq!(
            tags["Tags"],
            json!([{"Key": "A", "Value": "3"}, {"Key": "b", "Value": "2"}])
        );
        assert_eq!(tags["IsTruncated"], json!(false));
        let page = env.ok("ListRoleTags", json!({"RoleName": "r", "MaxItems": 1}));
        assert_eq!(page["Tags"], json!([{"Key": "A", "Value": "3"}]));
        assert_eq!(page["IsTruncated"], json!(true));
        let next = env.ok(
            "ListRoleTags",
            json!({"RoleName": "r", "MaxItems": 1, "Marker": page["Marker"]}),
        );
        assert_eq!(next["Tags"], json!([{"Key": "b", "Value": "2"}]));
        env.ok(
            "UntagRole",
            json!({"RoleName": "r", "TagKeys": ["a", "zz"]}),
        );
        let tags = env.ok("ListRoleTags", json!({"RoleName": "r"}));
        assert_eq!(tags["Tags"], json!([{"Key": "b", "Value": "2"}]));

        let many: Vec<Value> = (0..50)
            .map(|i| json!({"Key": format!("k{i}"), "Value": ""}))
            .collect();
        let (code, msg) = env.err("TagRole", json!({"RoleName": "r", "Tags": many}));
        assert_eq!(code, "LimitExceeded");
        assert_eq!(
            msg,
            "The number of tags has reached the maximum limit of 50."
        );
        for (op, input) in [
            (
                "TagRole",
                json!({"RoleName": "ghost", "Tags": [{"Key": "a", "Value": "1"}]}),
            ),
            ("UntagRole", json!({"RoleName": "ghost", "TagKeys": ["a"]})),
            ("ListRoleTags", json!({"RoleName": "ghost"})),
        ] {
            let (code, msg) = env.err(op, input);
            assert_eq!(code, "NoSuchEntity", "{op}");
            assert_eq!(msg, "The role with name ghost cannot be found.", "{op}");
        }
    }

    #[test]
    fn service_linked_roles_are_protected() {
        let env = Env::new();
        put_service_linked(&env, "AWSServiceRoleForSupport");
        let protected = "Cannot perform the operation on the protected role \
                         'AWSServiceRoleForSupport' - this role is only modifiable by AWS";
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let name = "awsserviceroleforsupport";
        for (op, input) in [
            ("DeleteRole", json!({"RoleName": name})),
            (
                "UpdateAssumeRolePolicy",
                json!({"RoleName": name, "PolicyDocument": TRUST}),
            ),
            (
                "UpdateRole",
                json!({"RoleName": name, "MaxSessionDuration": 7200}),
            ),
            (
                "PutRolePolicy",
                json!({"RoleName": name, "PolicyName": "p", "PolicyDocument": doc}),
            ),
            (
                "DeleteRolePolicy",
                json!({"RoleName": name, "PolicyName": "p"}),
            ),
        ] {
            let (code, msg) = env.err(op, input);
            assert_eq!(code, "UnmodifiableEntity", "{op}");
            assert_eq!(msg, protected, "{op}");
        }
        // Reading, tagging and describing remain the customer's.
        env.ok(
            "UpdateRole",
            json!({"RoleName": name, "Description": "support"}),
        );
        env.ok(
            "UpdateRoleDescription",
            json!({"RoleName": name, "Description": "support 2"}),
        );
        env.ok(
            "TagRole",
            json!({"RoleName": name, "Tags": [{"Key": "a", "Value": "1"}]}),
        );
        let role = env.ok("GetRole", json!({"RoleName": name}))["Role"].clone();
        assert_eq!(role["Description"], "support 2");
        assert_eq!(role["MaxSessionDuration"], 3600);
        assert_eq!(
            role["Arn"],
            "arn:aws:iam::123456789012:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport"
        );
        let listed = env.ok("ListRolePolicies", json!({"RoleName": name}));
        assert_eq!(listed["PolicyNames"], json!([]));
    }
}
