//! GetAccountAuthorizationDetails: the whole IAM configuration of an account in one listing,
//! which IAM analysis tools (Prowler, cloudsplaining, PMapper) read from end to end.
//!
//! The listing is five sections in a fixed order (users, groups, roles, customer managed
//! policies, AWS managed policies); `MaxItems` counts items across all of them, and the marker
//! names the section and the last key returned in it. AWS managed policies appear only when the
//! account uses them (attached to an entity, or set as a permissions boundary): IAM does not
//! list the whole AWS catalogue here.

use std::collections::BTreeSet;

use moat_store::{Reader, Record};
use moat_types::AccountId;

use crate::common::{encode_document, timestamp, wire_tags_opt, Call, DEFAULT_MAX_ITEMS};
use crate::records::{
    name_key, BoundaryUsageRecord, EntityKind, GroupRecord, PolicyAttachmentRecord, PolicyRecord,
    RoleRecord, UserGroupRecord, UserRecord,
};
use crate::roles::wire_last_used;
use crate::users::boundary;
use crate::{
    attachments, inline, managed, policies, AttachedPolicy, GetAccountAuthorizationDetailsRequest,
    GetAccountAuthorizationDetailsResponse, GroupDetail, IamError, ManagedPolicyDetail,
    PolicyDetail, PolicyVersion, RoleDetail, UserDetail,
};

/// The account being listed, as the two forms the store and the other areas take.
struct Acct {
    id: AccountId,
    key: String,
}

/// The prefix of every AWS managed policy ARN.
const AWS_POLICY_ARN_PREFIX: &str = "arn:aws:iam::aws:policy/";

/// The sections of the listing, in the order they are returned and paginated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Users,
    Groups,
    Roles,
    LocalPolicies,
    AwsPolicies,
}

impl Section {
    const ALL: [Section; 5] = [
        Section::Users,
        Section::Groups,
        Section::Roles,
        Section::LocalPolicies,
        Section::AwsPolicies,
    ];

    /// The `Filter` value that selects this section.
    fn filter_name(self) -> &'static str {
        match self {
            Section::Users => "User",
            Section::Groups => "Group",
            Section::Roles => "Role",
            Section::LocalPolicies => "LocalManagedPolicy",
            Section::AwsPolicies => "AWSManagedPolicy",
        }
    }

    fn digit(self) -> char {
        match self {
            Section::Users => '0',
            Section::Groups => '1',
            Section::Roles => '2',
            Section::LocalPolicies => '3',
            Section::AwsPolicies => '4',
        }
    }

    fn from_digit(c: char) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.digit() == c)
    }
}

/// Where a page starts: a section, and the last key already returned in it (none: from the
/// section's start).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    section: Section,
    after: Option<String>,
}

fn encode_marker(p: &Position) -> String {
    let tag = format!("d1{}", p.section.digit());
    crate::common::hex_marker(&tag, p.after.as_deref().unwrap_or_default())
}

fn decode_marker(marker: &str) -> Result<Position, IamError> {
    let invalid = || IamError::InvalidInput("Invalid Marker.".to_owned());
    let section = marker
        .strip_prefix("d1")
        .and_then(|rest| rest.chars().next())
        .and_then(Section::from_digit)
        .ok_or_else(invalid)?;
    let tag = format!("d1{}", section.digit());
    let after = crate::common::unhex_marker(&tag, marker)?;
    Ok(Position {
        section,
        after: (!after.is_empty()).then_some(after),
    })
}

pub fn get_account_authorization_details(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetAccountAuthorizationDetailsRequest,
) -> Result<GetAccountAuthorizationDetailsResponse, IamError> {
    let account = Acct {
        id: c.account,
        key: c.account_key(),
    };
    let filter = i.filter.unwrap_or_default();
    let wanted = |s: Section| filter.is_empty() || filter.iter().any(|f| f == s.filter_name());
    let max = i
        .max_items
        .and_then(|m| usize::try_from(m).ok())
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_MAX_ITEMS);
    let start = match i.marker.as_deref() {
        Some(m) => decode_marker(m)?,
        None => Position {
            section: Section::Users,
            after: None,
        },
    };

    let mut out = GetAccountAuthorizationDetailsResponse {
        user_detail_list: Some(Vec::new()),
        group_detail_list: Some(Vec::new()),
        role_detail_list: Some(Vec::new()),
        policies: Some(Vec::new()),
        is_truncated: Some(false),
        marker: None,
    };
    let mut remaining = max;
    for section in Section::ALL {
        if section < start.section || !wanted(section) {
            continue;
        }
        let after = if section == start.section {
            start.after.clone()
        } else {
            None
        };
        // One more than fits tells whether anything is left after this page.
        let mut keys = section_keys(
            tx,
            &account,
            section,
            after.as_deref(),
            remaining.saturating_add(1),
        )?;
        if keys.len() > remaining {
            keys.truncate(remaining);
            let resume = Position {
                section,
                after: keys.last().cloned().or(after),
            };
            add_items(tx, &account, section, &keys, &mut out)?;
            out.is_truncated = Some(true);
            out.marker = Some(encode_marker(&resume));
            return Ok(out);
        }
        remaining = remaining.saturating_sub(keys.len());
        add_items(tx, &account, section, &keys, &mut out)?;
    }
    Ok(out)
}

/// Up to `limit` keys of a section in order, after `after`.
fn section_keys(
    tx: &impl Reader,
    account: &Acct,
    section: Section,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, IamError> {
    fn keys<R: Record>(
        tx: &impl Reader,
        account: &Acct,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, IamError> {
        Ok(tx
            .scan::<R>(&account.key, "", after, limit, &mut |_, _| true)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }
    match section {
        Section::Users => keys::<UserRecord>(tx, account, after, limit),
        Section::Groups => keys::<GroupRecord>(tx, account, after, limit),
        Section::Roles => keys::<RoleRecord>(tx, account, after, limit),
        Section::LocalPolicies => keys::<PolicyRecord>(tx, account, after, limit),
        Section::AwsPolicies => Ok(aws_policies_in_use(tx, account)?
            .into_iter()
            .filter(|arn| after.is_none_or(|a| arn.as_str() > a))
            .take(limit)
            .collect()),
    }
}

/// The ARNs of the AWS managed policies this account uses, in order: attached to an entity
/// or set as a permissions boundary, and known to Moat.
fn aws_policies_in_use(tx: &impl Reader, account: &Acct) -> Result<BTreeSet<String>, IamError> {
    // Both indexes are keyed `policy_arn|kind|entity_lc`; the entity part holds no `|`.
    fn arn_of(key: &str) -> Option<String> {
        key.rsplitn(3, '|').nth(2).map(str::to_owned)
    }
    let mut arns = BTreeSet::new();
    let mut note = |key: &str| {
        if let Some(arn) = arn_of(key) {
            arns.insert(arn);
        }
        false
    };
    tx.scan::<PolicyAttachmentRecord>(
        &account.key,
        AWS_POLICY_ARN_PREFIX,
        None,
        usize::MAX,
        &mut |k, _| note(k),
    )?;
    tx.scan::<BoundaryUsageRecord>(
        &account.key,
        AWS_POLICY_ARN_PREFIX,
        None,
        usize::MAX,
        &mut |k, _| note(k),
    )?;
    arns.retain(|arn| managed::find(arn).is_some());
    Ok(arns)
}

/// Appends the details of the items with these keys to their list.
fn add_items(
    tx: &impl Reader,
    account: &Acct,
    section: Section,
    keys: &[String],
    out: &mut GetAccountAuthorizationDetailsResponse,
) -> Result<(), IamError> {
    for key in keys {
        match section {
            Section::Users => {
                if let (Some(u), Some(list)) = (
                    tx.get::<UserRecord>(&account.key, key)?,
                    out.user_detail_list.as_mut(),
                ) {
                    list.push(user_detail(tx, account, &u)?);
                }
            }
            Section::Groups => {
                if let (Some(g), Some(list)) = (
                    tx.get::<GroupRecord>(&account.key, key)?,
                    out.group_detail_list.as_mut(),
                ) {
                    list.push(group_detail(tx, account, &g)?);
                }
            }
            Section::Roles => {
                if let (Some(r), Some(list)) = (
                    tx.get::<RoleRecord>(&account.key, key)?,
                    out.role_detail_list.as_mut(),
                ) {
                    list.push(role_detail(tx, account, &r)?);
                }
            }
            Section::LocalPolicies => {
                if let (Some(p), Some(list)) = (
                    tx.get::<PolicyRecord>(&account.key, key)?,
                    out.policies.as_mut(),
                ) {
                    list.push(local_policy_detail(tx, account, &p)?);
                }
            }
            Section::AwsPolicies => {
                if let (Some(p), Some(list)) = (managed::find(key), out.policies.as_mut()) {
                    list.push(aws_policy_detail(tx, account, p)?);
                }
            }
        }
    }
    Ok(())
}

fn inline_policies(
    tx: &impl Reader,
    account: &Acct,
    kind: EntityKind,
    entity: &str,
) -> Result<Vec<PolicyDetail>, IamError> {
    Ok(inline::all_for(tx, &account.key, kind, entity)?
        .into_iter()
        .map(|p| PolicyDetail {
            policy_name: Some(p.policy_name),
            policy_document: Some(encode_document(&p.document)),
        })
        .collect())
}

fn attached_policies(
    tx: &impl Reader,
    account: &Acct,
    kind: EntityKind,
    entity: &str,
) -> Result<Vec<AttachedPolicy>, IamError> {
    Ok(
        attachments::attached_policies(tx, account.id, kind, &name_key(entity))?
            .into_iter()
            .map(|a| AttachedPolicy {
                policy_name: Some(a.policy_name),
                policy_arn: Some(a.policy_arn),
            })
            .collect(),
    )
}

fn user_detail(tx: &impl Reader, account: &Acct, u: &UserRecord) -> Result<UserDetail, IamError> {
    let groups = tx
        .all::<UserGroupRecord>(&account.key, &format!("{}/", name_key(&u.name)))?
        .into_iter()
        .map(|(_, g)| g.group_name)
        .collect();
    Ok(UserDetail {
        path: Some(u.path.clone()),
        user_name: Some(u.name.clone()),
        user_id: Some(u.id.clone()),
        arn: Some(u.arn.clone()),
        create_date: Some(timestamp(u.create_date)),
        user_policy_list: Some(inline_policies(tx, account, EntityKind::User, &u.name)?),
        group_list: Some(groups),
        attached_managed_policies: Some(attached_policies(tx, account, EntityKind::User, &u.name)?),
        permissions_boundary: u.permissions_boundary.as_deref().map(boundary),
        tags: wire_tags_opt(&u.tags),
    })
}

fn group_detail(
    tx: &impl Reader,
    account: &Acct,
    g: &GroupRecord,
) -> Result<GroupDetail, IamError> {
    Ok(GroupDetail {
        path: Some(g.path.clone()),
        group_name: Some(g.name.clone()),
        group_id: Some(g.id.clone()),
        arn: Some(g.arn.clone()),
        create_date: Some(timestamp(g.create_date)),
        group_policy_list: Some(inline_policies(tx, account, EntityKind::Group, &g.name)?),
        attached_managed_policies: Some(attached_policies(
            tx,
            account,
            EntityKind::Group,
            &g.name,
        )?),
    })
}

fn role_detail(tx: &impl Reader, account: &Acct, r: &RoleRecord) -> Result<RoleDetail, IamError> {
    Ok(RoleDetail {
        path: Some(r.path.clone()),
        role_name: Some(r.name.clone()),
        role_id: Some(r.id.clone()),
        arn: Some(r.arn.clone()),
        create_date: Some(timestamp(r.create_date)),
        assume_role_policy_document: Some(encode_document(&r.assume_role_policy_document)),
        // Instance profiles are not served yet, so no role is in one.
        instance_profile_list: Some(Vec::new()),
        role_policy_list: Some(inline_policies(tx, account, EntityKind::Role, &r.name)?),
        attached_managed_policies: Some(attached_policies(tx, account, EntityKind::Role, &r.name)?),
        permissions_boundary: r.permissions_boundary.as_deref().map(boundary),
        tags: wire_tags_opt(&r.tags),
        role_last_used: Some(wire_last_used(r.last_used.as_ref())),
    })
}

fn local_policy_detail(
    tx: &impl Reader,
    account: &Acct,
    p: &PolicyRecord,
) -> Result<ManagedPolicyDetail, IamError> {
    let (attachment_count, boundary_count) = policies::usage_counts(tx, account.id, &p.arn)?;
    // Newest version first, as IAM lists them.
    let versions = policies::all_versions(tx, account.id, &name_key(&p.name))?
        .into_iter()
        .rev()
        .map(|v| PolicyVersion {
            is_default_version: Some(v.version_id == p.default_version_id),
            document: Some(encode_document(&v.document)),
            create_date: Some(timestamp(v.create_date)),
            version_id: Some(v.version_id),
        })
        .collect();
    Ok(ManagedPolicyDetail {
        policy_name: Some(p.name.clone()),
        policy_id: Some(p.id.clone()),
        arn: Some(p.arn.clone()),
        path: Some(p.path.clone()),
        default_version_id: Some(p.default_version_id.clone()),
        attachment_count: Some(attachment_count),
        permissions_boundary_usage_count: Some(boundary_count),
        is_attachable: Some(true),
        description: p.description.clone(),
        create_date: Some(timestamp(p.create_date)),
        update_date: Some(timestamp(p.update_date)),
        policy_version_list: Some(versions),
    })
}

fn aws_policy_detail(
    tx: &impl Reader,
    account: &Acct,
    p: &managed::AwsPolicy,
) -> Result<ManagedPolicyDetail, IamError> {
    let (attachment_count, boundary_count) = policies::usage_counts(tx, account.id, &p.arn)?;
    Ok(ManagedPolicyDetail {
        policy_name: Some(p.name.clone()),
        policy_id: Some(p.id.clone()),
        arn: Some(p.arn.clone()),
        path: Some(p.path.clone()),
        default_version_id: Some(p.default_version_id.clone()),
        attachment_count: Some(attachment_count),
        permissions_boundary_usage_count: Some(boundary_count),
        is_attachable: Some(true),
        description: None,
        create_date: Some(timestamp(p.create_date)),
        update_date: Some(timestamp(p.update_date)),
        // Moat keeps the current version of each AWS managed policy only; it was published
        // when the policy was last updated.
        policy_version_list: Some(vec![PolicyVersion {
            document: Some(encode_document(&p.document)),
            version_id: Some(p.default_version_id.clone()),
            is_default_version: Some(true),
            create_date: Some(timestamp(p.update_date)),
        }]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Env;
    use serde_json::{json, Value};

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    const DOC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}"#;
    const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    const IAM_READ_ONLY: &str = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";

    fn arn(name: &str) -> String {
        format!("arn:aws:iam::123456789012:policy/{name}")
    }

    /// Two users, a group, a role and three customer policies, using two AWS managed
    /// policies (one attached, one as a boundary only).
    fn account() -> Env {
        let env = Env::new();
        for name in ["cust", "bound", "unused"] {
            env.ok(
                "CreatePolicy",
                json!({"PolicyName": name, "PolicyDocument": DOC, "Description": format!("{name} policy")}),
            );
        }
        env.ok(
            "CreatePolicyVersion",
            json!({"PolicyArn": arn("cust"), "PolicyDocument": DOC2, "SetAsDefault": true}),
        );
        env.ok(
            "CreateUser",
            json!({"UserName": "alice", "Path": "/eng/", "PermissionsBoundary": READ_ONLY,
                "Tags": [{"Key": "team", "Value": "core"}]}),
        );
        env.ok("CreateUser", json!({"UserName": "bob"}));
        env.ok(
            "PutUserPolicy",
            json!({"UserName": "alice", "PolicyName": "ua", "PolicyDocument": DOC}),
        );
        env.ok(
            "AttachUserPolicy",
            json!({"UserName": "alice", "PolicyArn": IAM_READ_ONLY}),
        );
        env.ok("CreateGroup", json!({"GroupName": "devs"}));
        env.ok(
            "AddUserToGroup",
            json!({"GroupName": "devs", "UserName": "alice"}),
        );
        env.ok(
            "PutGroupPolicy",
            json!({"GroupName": "devs", "PolicyName": "ga", "PolicyDocument": DOC}),
        );
        env.ok(
            "AttachGroupPolicy",
            json!({"GroupName": "devs", "PolicyArn": arn("cust")}),
        );
        env.ok(
            "CreateRole",
            json!({"RoleName": "app", "AssumeRolePolicyDocument": TRUST,
                "PermissionsBoundary": arn("bound"), "Tags": [{"Key": "k", "Value": "v"}]}),
        );
        env.ok(
            "PutRolePolicy",
            json!({"RoleName": "app", "PolicyName": "ra", "PolicyDocument": DOC2}),
        );
        env.ok(
            "AttachRolePolicy",
            json!({"RoleName": "app", "PolicyArn": arn("cust")}),
        );
        env
    }

    fn names(list: &Value, field: &str) -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|v| v[field].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn lists_every_entity_with_its_relationships() {
        let env = account();
        let out = env.ok("GetAccountAuthorizationDetails", json!({}));
        assert_eq!(out["IsTruncated"], json!(false));
        assert!(out.get("Marker").is_none());

        let users = &out["UserDetailList"];
        assert_eq!(names(users, "UserName"), ["alice", "bob"]);
        let alice = &users[0];
        assert_eq!(alice["Path"], "/eng/");
        assert_eq!(alice["Arn"], "arn:aws:iam::123456789012:user/eng/alice");
        assert!(alice["UserId"].as_str().unwrap().starts_with("AIDA"));
        assert!(alice.get("CreateDate").is_some());
        assert_eq!(
            alice["UserPolicyList"],
            json!([{"PolicyName": "ua", "PolicyDocument": encode_document(DOC)}])
        );
        assert_eq!(alice["GroupList"], json!(["devs"]));
        assert_eq!(
            alice["AttachedManagedPolicies"],
            json!([{"PolicyName": "IAMReadOnlyAccess", "PolicyArn": IAM_READ_ONLY}])
        );
        assert_eq!(
            alice["PermissionsBoundary"],
            json!({"PermissionsBoundaryArn": READ_ONLY,
                "PermissionsBoundaryType": "PermissionsBoundaryPolicy"})
        );
        assert_eq!(alice["Tags"], json!([{"Key": "team", "Value": "core"}]));
        let bob = &users[1];
        assert_eq!(bob["UserPolicyList"], json!([]));
        assert_eq!(bob["GroupList"], json!([]));
        assert_eq!(bob["AttachedManagedPolicies"], json!([]));
        assert!(bob.get("PermissionsBoundary").is_none());
        assert!(bob.get("Tags").is_none());

        let groups = &out["GroupDetailList"];
        assert_eq!(names(groups, "GroupName"), ["devs"]);
        let devs = &groups[0];
        assert_eq!(devs["Path"], "/");
        assert_eq!(devs["Arn"], "arn:aws:iam::123456789012:group/devs");
        assert!(devs["GroupId"].as_str().unwrap().starts_with("AGPA"));
        assert_eq!(
            devs["GroupPolicyList"],
            json!([{"PolicyName": "ga", "PolicyDocument": encode_document(DOC)}])
        );
        assert_eq!(
            devs["AttachedManagedPolicies"],
            json!([{"PolicyName": "cust", "PolicyArn": arn("cust")}])
        );

        let roles = &out["RoleDetailList"];
        assert_eq!(names(roles, "RoleName"), ["app"]);
        let app = &roles[0];
        assert!(app["RoleId"].as_str().unwrap().starts_with("AROA"));
        assert_eq!(app["Arn"], "arn:aws:iam::123456789012:role/app");
        assert_eq!(app["AssumeRolePolicyDocument"], encode_document(TRUST));
        assert_eq!(app["InstanceProfileList"], json!([]));
        assert_eq!(
            app["RolePolicyList"],
            json!([{"PolicyName": "ra", "PolicyDocument": encode_document(DOC2)}])
        );
        assert_eq!(
            app["AttachedManagedPolicies"],
            json!([{"PolicyName": "cust", "PolicyArn": arn("cust")}])
        );
        assert_eq!(
            app["PermissionsBoundary"]["PermissionsBoundaryArn"],
            json!(arn("bound"))
        );
        assert_eq!(app["Tags"], json!([{"Key": "k", "Value": "v"}]));
        assert_eq!(app["RoleLastUsed"], json!({}));

        // Customer policies by name, then the AWS managed policies in use, by ARN; the rest of
        // the AWS catalogue is not listed.
        let policies = &out["Policies"];
        assert_eq!(
            names(policies, "PolicyName"),
            [
                "bound",
                "cust",
                "unused",
                "IAMReadOnlyAccess",
                "ReadOnlyAccess"
            ]
        );
        let cust = &policies[1];
        assert_eq!(cust["Arn"], json!(arn("cust")));
        assert!(cust["PolicyId"].as_str().unwrap().starts_with("ANPA"));
        assert_eq!(cust["Path"], "/");
        assert_eq!(cust["DefaultVersionId"], "v2");
        assert_eq!(cust["AttachmentCount"], 2);
        assert_eq!(cust["PermissionsBoundaryUsageCount"], 0);
        assert_eq!(cust["IsAttachable"], true);
        assert_eq!(cust["Description"], "cust policy");
        assert!(cust.get("CreateDate").is_some() && cust.get("UpdateDate").is_some());
        let versions = &cust["PolicyVersionList"];
        assert_eq!(names(versions, "VersionId"), ["v2", "v1"]);
        assert_eq!(versions[0]["IsDefaultVersion"], true);
        assert_eq!(versions[0]["Document"], encode_document(DOC2));
        assert_eq!(versions[1]["IsDefaultVersion"], false);
        assert_eq!(versions[1]["Document"], encode_document(DOC));
        assert!(versions[1].get("CreateDate").is_some());
        let bound = &policies[0];
        assert_eq!(bound["AttachmentCount"], 0);
        assert_eq!(bound["PermissionsBoundaryUsageCount"], 1);
        let unused = &policies[2];
        assert_eq!(unused["AttachmentCount"], 0);
        assert_eq!(unused["PermissionsBoundaryUsageCount"], 0);

        let iam_ro = &policies[3];
        let aws = managed::find(IAM_READ_ONLY).unwrap();
        assert_eq!(iam_ro["Arn"], IAM_READ_ONLY);
        assert_eq!(iam_ro["PolicyId"], json!(aws.id));
        assert_eq!(iam_ro["AttachmentCount"], 1);
        assert_eq!(iam_ro["PermissionsBoundaryUsageCount"], 0);
        assert_eq!(iam_ro["DefaultVersionId"], json!(aws.default_version_id));
        assert_eq!(
            iam_ro["PolicyVersionList"],
            json!([{
                "VersionId": aws.default_version_id,
                "IsDefaultVersion": true,
                "Document": encode_document(&aws.document),
                "CreateDate": iam_ro["UpdateDate"],
            }])
        );
        let ro = &policies[4];
        assert_eq!(ro["Arn"], READ_ONLY);
        assert_eq!(ro["AttachmentCount"], 0);
        assert_eq!(ro["PermissionsBoundaryUsageCount"], 1);
    }

    #[test]
    fn an_empty_account_has_empty_lists() {
        let env = Env::new();
        let out = env.ok("GetAccountAuthorizationDetails", json!({}));
        assert_eq!(
            out,
            json!({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                "Policies": [], "IsTruncated": false})
        );
    }

    #[test]
    fn the_filter_selects_sections() {
        let env = account();
        let call =
            |filter: Value| env.ok("GetAccountAuthorizationDetails", json!({"Filter": filter}));
        let count = |out: &Value, list: &str| out[list].as_array().unwrap().len();

        let roles = call(json!(["Role"]));
        assert_eq!(count(&roles, "RoleDetailList"), 1);
        assert_eq!(count(&roles, "UserDetailList"), 0);
        assert_eq!(count(&roles, "GroupDetailList"), 0);
        assert_eq!(count(&roles, "Policies"), 0);

        let users_groups = call(json!(["User", "Group"]));
        assert_eq!(count(&users_groups, "UserDetailList"), 2);
        assert_eq!(count(&users_groups, "GroupDetailList"), 1);
        assert_eq!(count(&users_groups, "RoleDetailList"), 0);
        assert_eq!(count(&users_groups, "Policies"), 0);

        let local = call(json!(["LocalManagedPolicy"]));
        assert_eq!(
            names(&local["Policies"], "PolicyName"),
            ["bound", "cust", "unused"]
        );
        let aws = call(json!(["AWSManagedPolicy"]));
        assert_eq!(
            names(&aws["Policies"], "PolicyName"),
            ["IAMReadOnlyAccess", "ReadOnlyAccess"]
        );
        assert_eq!(count(&aws, "UserDetailList"), 0);

        let all = call(json!([]));
        assert_eq!(all, env.ok("GetAccountAuthorizationDetails", json!({})));
    }

    #[test]
    fn detaching_an_aws_policy_drops_it_from_the_listing() {
        let env = account();
        env.ok(
            "DetachUserPolicy",
            json!({"UserName": "alice", "PolicyArn": IAM_READ_ONLY}),
        );
        let aws = env.ok(
            "GetAccountAuthorizationDetails",
            json!({"Filter": ["AWSManagedPolicy"]}),
        );
        assert_eq!(names(&aws["Policies"], "PolicyName"), ["ReadOnlyAccess"]);
    }

    /// Pages through with `max_items`, returning the four lists joined across pages and the
    /// number of pages.
    fn collect(env: &Env, filter: Option<Value>, max_items: usize) -> (Value, usize) {
        let mut joined = json!({"UserDetailList": [], "GroupDetailList": [],
            "RoleDetailList": [], "Policies": []});
        let mut marker: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut input = json!({"MaxItems": max_items});
            if let Some(f) = &filter {
                input["Filter"] = f.clone();
            }
            if let Some(m) = &marker {
                input["Marker"] = json!(m);
            }
            let page = env.ok("GetAccountAuthorizationDetails", input);
            pages += 1;
            let mut items = 0;
            for list in [
                "UserDetailList",
                "GroupDetailList",
                "RoleDetailList",
                "Policies",
            ] {
                let got = page[list].as_array().unwrap();
                items += got.len();
                joined[list]
                    .as_array_mut()
                    .unwrap()
                    .extend(got.iter().cloned());
            }
            assert!(items <= max_items, "a page holds at most MaxItems items");
            if page["IsTruncated"] == json!(true) {
                assert_eq!(items, max_items, "only a full page is truncated");
                marker = Some(page["Marker"].as_str().unwrap().to_owned());
            } else {
                assert!(page.get("Marker").is_none());
                return (joined, pages);
            }
        }
    }

    #[test]
    fn max_items_counts_across_all_lists() {
        let env = account();
        let full = env.ok("GetAccountAuthorizationDetails", json!({}));
        let mut expected = full.clone();
        expected.as_object_mut().unwrap().remove("IsTruncated");
        // 2 users + 1 group + 1 role + 5 policies.
        let total = 9;
        for max in 1..=total + 1 {
            let (joined, pages) = collect(&env, None, max);
            assert_eq!(joined, expected, "MaxItems {max}");
            assert_eq!(pages, total.div_ceil(max), "MaxItems {max}");
        }
        let filter = json!(["Role", "AWSManagedPolicy"]);
        let (joined, pages) = collect(&env, Some(filter), 1);
        assert_eq!(pages, 3);
        assert_eq!(names(&joined["RoleDetailList"], "RoleName"), ["app"]);
        assert_eq!(
            names(&joined["Policies"], "PolicyName"),
            ["IAMReadOnlyAccess", "ReadOnlyAccess"]
        );
    }

    #[test]
    fn markers_are_checked() {
        let env = account();
        for bad in ["bogus", "d1", "d19", "d10zz", "d10abc", "m1616263"] {
            let (code, msg) = env.err("GetAccountAuthorizationDetails", json!({"Marker": bad}));
            assert_eq!(code, "InvalidInput", "{bad}");
            assert_eq!(msg, "Invalid Marker.", "{bad}");
        }
        let p = Position {
            section: Section::Roles,
            after: Some("app".to_owned()),
        };
        assert_eq!(decode_marker(&encode_marker(&p)).unwrap(), p);
        let start = Position {
            section: Section::AwsPolicies,
            after: None,
        };
        assert_eq!(decode_marker(&encode_marker(&start)).unwrap(), start);
    }
}
