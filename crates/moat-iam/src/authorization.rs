//! What authorization needs from IAM: the policies that bear on an IAM identity (its own, its
//! groups', its permissions boundary), and what a call acts on, with the condition keys the
//! resource and the request's parameters bring.
//!
//! The server compiles an identity's policies once per change and decides every request from
//! memory; the simulator loads the same policies through the same function, so a simulation
//! and a real request see exactly the same rules.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use moat_policy::{ContextValue, Policy, PolicyKind};
use moat_store::Reader;
use moat_types::{iam_arn, AccountId, Principal};

use crate::policies::{self, Managed};
use crate::records::{
    name_key, AttachedPolicyRecord, EntityKind, InlinePolicyRecord, TagRecord, UserGroupRecord,
};
use crate::{
    attachments, groups, inline, managed, roles, users, Iam, IamError, Prepared, Resource,
};

/// Where a policy comes from, as the simulator's `SourcePolicyType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    /// An inline policy of a user, group or role.
    Inline(EntityKind),
    AwsManaged,
    CustomerManaged,
}

impl SourceType {
    pub fn simulator_name(self) -> &'static str {
        match self {
            SourceType::Inline(kind) => kind.key(),
            SourceType::AwsManaged => "aws-managed",
            SourceType::CustomerManaged => "user-managed",
        }
    }
}

/// One policy of an identity, parsed.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// The inline policy's name or the managed policy's name, as the simulator reports it.
    pub name: String,
    /// The managed policy's ARN; for an inline policy, `None`.
    pub arn: Option<String>,
    pub source_type: SourceType,
    /// The document as stored, for the simulator's statement positions.
    pub document: Arc<str>,
    pub policy: Arc<Policy>,
}

impl LoadedPolicy {
    /// The name the policy goes by in explanations: a managed policy's ARN, or
    /// `user/alice/inline-name` for an inline one.
    pub fn display_id(&self) -> String {
        match (&self.arn, self.source_type) {
            (Some(arn), _) => arn.clone(),
            (None, SourceType::Inline(kind)) => format!("{}/{}", kind.key(), self.name),
            (None, _) => self.name.clone(),
        }
    }
}

/// An IAM user, group or role by name.
#[derive(Debug, Clone, Copy)]
pub enum EntityRef<'a> {
    User(&'a str),
    Group(&'a str),
    Role(&'a str),
}

/// Every policy that bears on an IAM identity.
#[derive(Debug, Clone)]
pub struct EntityPolicies {
    pub arn: String,
    /// The unique id (`AIDA...`, `AGPA...`, `AROA...`).
    pub id: String,
    /// Identity-based policies: the entity's inline and attached policies, then (for a user)
    /// each group's, groups in name order.
    pub identity: Vec<LoadedPolicy>,
    pub boundary: Option<LoadedPolicy>,
    pub tags: Vec<TagRecord>,
}

/// Loads the policies of an entity; `None` when it does not exist. A stored document that no
/// longer parses is an internal failure, never a policy silently left out: leaving out a
/// `Deny` would widen access.
pub fn entity_policies(
    tx: &impl Reader,
    account: AccountId,
    entity: EntityRef<'_>,
) -> Result<Option<EntityPolicies>, IamError> {
    let mut identity = Vec::new();
    let (arn, id, tags, boundary) = match entity {
        EntityRef::User(name) => {
            let Some(user) = users::find(tx, account, name)? else {
                return Ok(None);
            };
            let user_lc = name_key(&user.name);
            own_policies(tx, account, EntityKind::User, &user.name, &mut identity)?;
            let memberships =
                tx.all::<UserGroupRecord>(&account.to_string(), &format!("{user_lc}/"))?;
            for (_, membership) in memberships {
                own_policies(
                    tx,
                    account,
                    EntityKind::Group,
                    &membership.group_name,
                    &mut identity,
                )?;
            }
            (user.arn, user.id, user.tags, user.permissions_boundary)
        }
        EntityRef::Group(name) => {
            let Some(group) = groups::find(tx, account, name)? else {
                return Ok(None);
            };
            own_policies(tx, account, EntityKind::Group, &group.name, &mut identity)?;
            (group.arn, group.id, Vec::new(), None)
        }
        EntityRef::Role(name) => {
            let Some(role) = roles::find(tx, account, name)? else {
                return Ok(None);
            };
            own_policies(tx, account, EntityKind::Role, &role.name, &mut identity)?;
            (role.arn, role.id, role.tags, role.permissions_boundary)
        }
    };
    let boundary =
        match boundary {
            Some(arn) => Some(managed_policy(tx, account, &arn)?.ok_or_else(|| {
                IamError::Internal(format!("permissions boundary {arn} is missing"))
            })?),
            None => None,
        };
    Ok(Some(EntityPolicies {
        arn,
        id,
        identity,
        boundary,
        tags,
    }))
}

/// The inline policies of one entity, then its attached managed policies.
fn own_policies(
    tx: &impl Reader,
    account: AccountId,
    kind: EntityKind,
    name: &str,
    out: &mut Vec<LoadedPolicy>,
) -> Result<(), IamError> {
    let account_key = account.to_string();
    for record in inline::all_for(tx, &account_key, kind, name)? {
        let InlinePolicyRecord {
            policy_name,
            document,
        } = record;
        let policy = parse_stored(&document, &policy_name)?;
        out.push(LoadedPolicy {
            name: policy_name,
            arn: None,
            source_type: SourceType::Inline(kind),
            document: document.into(),
            policy,
        });
    }
    let attached: Vec<AttachedPolicyRecord> =
        attachments::attached_policies(tx, account, kind, &name_key(name))?;
    for record in attached {
        let loaded = managed_policy(tx, account, &record.policy_arn)?.ok_or_else(|| {
            IamError::Internal(format!("attached policy {} is missing", record.policy_arn))
        })?;
        out.push(loaded);
    }
    Ok(())
}

/// A managed policy's default version, parsed; `None` when the ARN names no policy. AWS
/// managed policies are parsed once per process.
pub fn managed_policy(
    tx: &impl Reader,
    account: AccountId,
    arn: &str,
) -> Result<Option<LoadedPolicy>, IamError> {
    let Some(found) = policies::resolve(tx, account, arn)? else {
        return Ok(None);
    };
    let (policy, document, source_type) = match &found {
        Managed::Aws(p) => (
            aws_managed_parsed(&p.arn)?,
            Arc::from(p.document.as_str()),
            SourceType::AwsManaged,
        ),
        Managed::Customer(_) => {
            let Some(document) = policies::default_document(tx, account, &found)? else {
                return Err(IamError::Internal(format!(
                    "the default version of {arn} is missing"
                )));
            };
            (
                parse_stored(&document, arn)?,
                Arc::from(document),
                SourceType::CustomerManaged,
            )
        }
    };
    Ok(Some(LoadedPolicy {
        name: found.name().to_owned(),
        arn: Some(found.arn().to_owned()),
        source_type,
        document,
        policy,
    }))
}

fn parse_stored(document: &str, what: &str) -> Result<Arc<Policy>, IamError> {
    moat_policy::parse(document, PolicyKind::Identity)
        .map(Arc::new)
        .map_err(|e| IamError::Internal(format!("stored policy {what} does not parse: {e}")))
}

fn aws_managed_parsed(arn: &str) -> Result<Arc<Policy>, IamError> {
    static PARSED: OnceLock<HashMap<String, Arc<Policy>>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        managed::all()
            .iter()
            .filter_map(|p| {
                let policy = moat_policy::parse(&p.document, PolicyKind::Identity).ok()?;
                Some((p.arn.clone(), Arc::new(policy)))
            })
            .collect()
    });
    parsed
        .get(arn)
        .cloned()
        .ok_or_else(|| IamError::Internal(format!("AWS managed policy {arn} does not parse")))
}

/// What a call acts on, as its authorization sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The resource ARN (with the entity's path when it exists), or `*`.
    pub arn: String,
    /// Condition keys of the resource (`aws:ResourceTag/...`) and of the request's parameters
    /// (`aws:RequestTag/...`, `aws:TagKeys`, `iam:PolicyARN`, `iam:PermissionsBoundary`).
    pub keys: Vec<(String, ContextValue)>,
    /// The resource's own policy, when it has one (a role's trust policy for
    /// `sts:AssumeRole`, a key policy...).
    pub resource_policy: Option<TargetPolicy>,
    /// The account that owns the resource, when it may differ from the caller's.
    pub resource_account: Option<String>,
    /// An allow from outside the policies: the KMS grant that gives the caller this
    /// operation on the key. It allows what no policy allows, never what one denies.
    pub grant: Option<String>,
}

impl Target {
    /// A target with no resource policy, in the caller's account.
    pub fn new(arn: String, keys: Vec<(String, ContextValue)>) -> Target {
        Target {
            arn,
            keys,
            resource_policy: None,
            resource_account: None,
            grant: None,
        }
    }
}

/// A resource-based policy taking part in a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPolicy {
    /// The name explanations use: the resource's ARN.
    pub id: String,
    pub document: Arc<str>,
    pub kind: moat_policy::ResourcePolicyKind,
}

/// Condition keys a request carries by its parameters, declared with its operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestKeys {
    pub request_tags: Vec<(String, String)>,
    pub tag_keys: Option<Vec<String>>,
    pub policy_arn: Option<String>,
    pub boundary: BoundaryKey,
}

/// Where `iam:PermissionsBoundary` comes from for an operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BoundaryKey {
    /// The operation has no such key.
    #[default]
    None,
    /// The boundary the request sets (CreateUser, PutUserPermissionsBoundary...); absent when
    /// the request sets none.
    Requested(Option<String>),
    /// The boundary the user or role acted on has now (PutUserPolicy, AttachRolePolicy...).
    Current,
}

impl Iam {
    /// Resolves what a prepared call acts on: the ARN of its resource and every condition key
    /// the resource and the request bring. One read of the store.
    pub fn target(&self, principal: &Principal, prepared: &Prepared) -> Result<Target, IamError> {
        let account = principal.account;
        let mut keys: Vec<(String, ContextValue)> = Vec::new();
        let request = &prepared.keys;
        for (k, v) in &request.request_tags {
            keys.push((
                format!("aws:RequestTag/{k}"),
                ContextValue::from(v.as_str()),
            ));
        }
        if let Some(tag_keys) = &request.tag_keys {
            keys.push((
                "aws:TagKeys".to_owned(),
                ContextValue::from(tag_keys.clone()),
            ));
        }
        if let Some(arn) = &request.policy_arn {
            keys.push(("iam:PolicyARN".to_owned(), ContextValue::from(arn.as_str())));
        }
        if let BoundaryKey::Requested(Some(arn)) = &request.boundary {
            keys.push((
                "iam:PermissionsBoundary".to_owned(),
                ContextValue::from(arn.as_str()),
            ));
        }
        let (arn, tags, boundary) = self.store().read(|tx| {
            let (arn, tags, boundary) = match &prepared.resource {
                Resource::User(None) => {
                    match users::find(tx, account, principal_user(principal))? {
                        Some(u) => (u.arn, u.tags, u.permissions_boundary),
                        None => (principal.arn.clone(), Vec::new(), None),
                    }
                }
                Resource::User(Some(name)) => match users::find(tx, account, name)? {
                    Some(u) => (u.arn, u.tags, u.permissions_boundary),
                    None => (iam_arn(account, &format!("user/{name}")), Vec::new(), None),
                },
                Resource::Group(name) => match groups::find(tx, account, name)? {
                    Some(g) => (g.arn, Vec::new(), None),
                    None => (iam_arn(account, &format!("group/{name}")), Vec::new(), None),
                },
                Resource::Role(name) => match roles::find(tx, account, name)? {
                    Some(r) => (r.arn, r.tags, r.permissions_boundary),
                    None => (iam_arn(account, &format!("role/{name}")), Vec::new(), None),
                },
                Resource::Policy(arn) => {
                    // A malformed ARN is the operation's own error to report, after
                    // authorization against the ARN as given.
                    let tags = match policies::resolve(tx, account, arn) {
                        Ok(Some(Managed::Customer(p))) => p.tags,
                        _ => Vec::new(),
                    };
                    (arn.clone(), tags, None)
                }
                Resource::New { kind, path, name } => (
                    iam_arn(account, &format!("{kind}{path}{name}")),
                    Vec::new(),
                    None,
                ),
                Resource::Collection(kind) => (iam_arn(account, kind), Vec::new(), None),
                Resource::EntityArn(arn) => (arn.clone(), Vec::new(), None),
                Resource::OidcProvider(arn) => {
                    let tags = crate::oidc_providers::find_by_arn(tx, account, arn)?
                        .map(|p| p.tags)
                        .unwrap_or_default();
                    (arn.clone(), tags, None)
                }
                Resource::Any => ("*".to_owned(), Vec::new(), None),
            };
            Ok::<_, IamError>((arn, tags, boundary))
        })?;
        for tag in tags {
            let value = ContextValue::from(tag.value);
            keys.push((format!("iam:ResourceTag/{}", tag.key), value.clone()));
            keys.push((format!("aws:ResourceTag/{}", tag.key), value));
        }
        if let (BoundaryKey::Current, Some(boundary)) = (&request.boundary, boundary) {
            keys.push((
                "iam:PermissionsBoundary".to_owned(),
                ContextValue::from(boundary),
            ));
        }
        Ok(Target::new(arn, keys))
    }
}

fn principal_user(principal: &Principal) -> &str {
    match &principal.kind {
        moat_types::PrincipalKind::User { name, .. } => name,
        moat_types::PrincipalKind::Root
        | moat_types::PrincipalKind::AssumedRole { .. }
        | moat_types::PrincipalKind::WebIdentity { .. } => "",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::Env;

    const ALLOW_S3: &str =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;

    fn load(env: &Env, entity: EntityRef<'_>) -> Option<EntityPolicies> {
        env.iam
            .store()
            .read(|tx| entity_policies(tx, env.root.account, entity))
            .unwrap()
    }

    #[test]
    fn a_user_has_its_own_and_its_groups_policies_and_its_boundary() {
        let env = Env::new();
        env.ok(
            "CreateUser",
            json!({"UserName": "alice", "Path": "/eng/",
            "PermissionsBoundary": "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
            "Tags": [{"Key": "team", "Value": "blue"}]}),
        );
        env.ok(
            "PutUserPolicy",
            json!({"UserName": "alice", "PolicyName": "own", "PolicyDocument": ALLOW_S3}),
        );
        let arn = env.ok(
            "CreatePolicy",
            json!({"PolicyName": "mine", "PolicyDocument": ALLOW_S3}),
        )["Policy"]["Arn"]
            .as_str()
            .unwrap()
            .to_owned();
        env.ok(
            "AttachUserPolicy",
            json!({"UserName": "alice", "PolicyArn": arn}),
        );
        env.ok("CreateGroup", json!({"GroupName": "Admins"}));
        env.ok(
            "AddUserToGroup",
            json!({"GroupName": "Admins", "UserName": "alice"}),
        );
        env.ok(
            "PutGroupPolicy",
            json!({"GroupName": "Admins", "PolicyName": "g", "PolicyDocument": ALLOW_S3}),
        );
        env.ok(
            "AttachGroupPolicy",
            json!({"GroupName": "Admins",
            "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        );

        let loaded = load(&env, EntityRef::User("ALICE")).unwrap();
        assert_eq!(loaded.arn, "arn:aws:iam::123456789012:user/eng/alice");
        let sources: Vec<(String, &str)> = loaded
            .identity
            .iter()
            .map(|p| (p.display_id(), p.source_type.simulator_name()))
            .collect();
        assert_eq!(
            sources,
            [
                ("user/own".to_owned(), "user"),
                (arn.clone(), "user-managed"),
                ("group/g".to_owned(), "group"),
                (
                    "arn:aws:iam::aws:policy/AdministratorAccess".to_owned(),
                    "aws-managed"
                ),
            ]
        );
        let boundary = loaded.boundary.unwrap();
        assert_eq!(boundary.name, "IAMReadOnlyAccess");
        assert_eq!(loaded.tags.len(), 1);

        // A new default version is what takes effect.
        let narrower = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}"#;
        env.ok(
            "CreatePolicyVersion",
            json!({"PolicyArn": arn, "PolicyDocument": narrower, "SetAsDefault": true}),
        );
        let loaded = load(&env, EntityRef::User("alice")).unwrap();
        assert_eq!(&*loaded.identity[1].document, narrower);

        assert!(load(&env, EntityRef::User("nobody")).is_none());
        let group = load(&env, EntityRef::Group("admins")).unwrap();
        assert_eq!(group.identity.len(), 2);
    }

    #[test]
    fn targets_carry_the_resource_and_request_keys() {
        let env = Env::new();
        env.ok(
            "CreateUser",
            json!({"UserName": "bob", "Path": "/ops/",
            "PermissionsBoundary": "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
            "Tags": [{"Key": "team", "Value": "red"}]}),
        );
        let target = |op: &str, input: serde_json::Value| {
            let prepared = Iam::prepare(crate::Request::from_value(op, input).unwrap().unwrap());
            env.iam.target(&env.root, &prepared).unwrap()
        };
        let value = |t: &Target, key: &str| {
            t.keys
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.values().to_vec())
        };

        let t = target(
            "AttachUserPolicy",
            json!({"UserName": "bob",
            "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        );
        assert_eq!(t.arn, "arn:aws:iam::123456789012:user/ops/bob");
        assert_eq!(
            value(&t, "iam:PolicyARN").unwrap(),
            ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        );
        assert_eq!(
            value(&t, "iam:PermissionsBoundary").unwrap(),
            ["arn:aws:iam::aws:policy/IAMReadOnlyAccess"]
        );
        assert_eq!(value(&t, "aws:ResourceTag/team").unwrap(), ["red"]);
        assert_eq!(value(&t, "iam:ResourceTag/team").unwrap(), ["red"]);

        let t = target(
            "CreateUser",
            json!({"UserName": "carol",
            "Tags": [{"Key": "team", "Value": "blue"}, {"Key": "cost", "Value": "1"}]}),
        );
        assert_eq!(t.arn, "arn:aws:iam::123456789012:user/carol");
        assert_eq!(value(&t, "aws:RequestTag/team").unwrap(), ["blue"]);
        assert_eq!(value(&t, "aws:TagKeys").unwrap(), ["team", "cost"]);
        assert_eq!(value(&t, "iam:PermissionsBoundary"), None);

        let t = target(
            "PutUserPermissionsBoundary",
            json!({"UserName": "bob",
            "PermissionsBoundary": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        );
        assert_eq!(
            value(&t, "iam:PermissionsBoundary").unwrap(),
            ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        );

        let t = target("UntagUser", json!({"UserName": "bob", "TagKeys": ["team"]}));
        assert_eq!(value(&t, "aws:TagKeys").unwrap(), ["team"]);
        assert_eq!(
            target("ListUsers", json!({})).arn,
            "arn:aws:iam::123456789012:user/"
        );
        assert_eq!(target("GetAccountSummary", json!({})).arn, "*");
    }
}
