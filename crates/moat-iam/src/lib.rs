//! The IAM service: each operation's declaration (action, resource, read-only) and behaviour.
//!
//! Wire shapes are generated from the botocore model (`build.rs`); this crate holds only what
//! an operation means. `Iam::prepare` is the one table that declares every operation: the
//! server authorizes against the declaration, then runs it in one storage transaction.

mod access_keys;
mod account;
mod attachments;
pub mod auth;
pub mod authorization;
mod boundaries;
mod common;
mod credential_report;
mod details;
pub mod error;
mod groups;
mod inline;
mod managed;
pub mod mfa;
pub mod oidc_providers;
pub mod operations;
mod passwords;
mod policies;
pub mod records;
mod roles;
mod simulator;
mod users;

pub use common::Call;
pub use error::IamError;
pub use mfa::check_code;

include!(concat!(env!("OUT_DIR"), "/iam_types.rs"));

use std::sync::OnceLock;

use moat_store::{ReadTx, Reader, Store, WriteTx};
use moat_types::AccountId;
use moat_wire::ServiceModel;

pub use authorization::{BoundaryKey, RequestKeys, Target, TargetPolicy};

static MODEL: OnceLock<Option<ServiceModel>> = OnceLock::new();
const MODEL_JSON: &str = include_str!("../../../models/iam/service-2.json");

/// IAM's botocore model, parsed once.
pub fn model() -> &'static ServiceModel {
    #[expect(clippy::expect_used, reason = "the model is compiled in and tested")]
    // INVARIANT: MODEL_JSON is the checked-in botocore model; `model_loads` tests it parses.
    MODEL
        .get_or_init(|| {
            operations::served_model(MODEL_JSON)
                .ok()
                .and_then(|served| ServiceModel::from_json(&served).ok())
        })
        .as_ref()
        .expect("the embedded IAM model parses")
}

/// What an operation acts on, resolved to an ARN for authorization and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A user by name; `None` means the calling user.
    User(Option<String>),
    Group(String),
    Role(String),
    /// A managed policy by ARN.
    Policy(String),
    /// A user, group, role or policy about to be created: `kind` is `user`, `group`, `role`
    /// or `policy`.
    New {
        kind: &'static str,
        path: String,
        name: String,
    },
    /// A listing: `user/`, `group/`, `role/`, `policy/`.
    Collection(&'static str),
    /// An IAM user, group or role by ARN, as a request names it.
    EntityArn(String),
    /// An OpenID Connect provider by ARN.
    OidcProvider(String),
    /// Account-wide operations.
    Any,
}

type ReadFn =
    Box<dyn for<'a, 'b, 'c> Fn(&'a ReadTx<'b>, &'a Call<'c>) -> Result<Response, IamError> + Send>;
type WriteFn = Box<
    dyn for<'a, 'b, 'c> FnOnce(&'a mut WriteTx<'b>, &'a Call<'c>) -> Result<Response, IamError>
        + Send,
>;

enum Exec {
    Read(ReadFn),
    Write(WriteFn),
}

/// A decoded request with its declaration, ready to authorize and run.
pub struct Prepared {
    pub operation: &'static str,
    pub resource: Resource,
    /// Condition keys the request's parameters bring.
    pub keys: RequestKeys,
    exec: Exec,
}

/// One row of the declaration table: what the operation acts on, the condition keys its
/// parameters bring, and what it does.
struct Decl {
    resource: Resource,
    keys: RequestKeys,
    exec: Exec,
}

/// The condition keys of a row, computed from the request before its behaviour takes it.
fn keyed(keys: RequestKeys, decl: Decl) -> Decl {
    Decl { keys, ..decl }
}

fn k() -> RequestKeys {
    RequestKeys::default()
}

impl RequestKeys {
    /// `aws:RequestTag/*` and `aws:TagKeys` from the tags a request sets.
    fn tags(mut self, tags: Option<&Vec<Tag>>) -> Self {
        let tags = tags.map(Vec::as_slice).unwrap_or_default();
        if !tags.is_empty() {
            self.request_tags = tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect();
            self.tag_keys = Some(tags.iter().map(|t| t.key.clone()).collect());
        }
        self
    }

    /// `aws:TagKeys` from the tag keys a request removes.
    fn tag_keys(mut self, keys: &[String]) -> Self {
        self.tag_keys = Some(keys.to_vec());
        self
    }

    /// `iam:PolicyARN`: the managed policy a request attaches or detaches.
    fn policy_arn(mut self, arn: &str) -> Self {
        self.policy_arn = Some(arn.to_owned());
        self
    }

    /// `iam:PermissionsBoundary`: the boundary the request sets.
    fn sets_boundary(mut self, arn: Option<&String>) -> Self {
        self.boundary = BoundaryKey::Requested(arn.cloned());
        self
    }

    /// `iam:PermissionsBoundary`: the boundary the user or role acted on has.
    fn current_boundary(mut self) -> Self {
        self.boundary = BoundaryKey::Current;
        self
    }
}

impl Prepared {
    /// `iam:CreateUser`.
    pub fn action(&self) -> String {
        format!("iam:{}", self.operation)
    }

    pub fn read_only(&self) -> bool {
        matches!(self.exec, Exec::Read(_))
    }
}

fn r<F>(resource: Resource, f: F) -> Decl
where
    F: for<'a, 'b, 'c> Fn(&'a ReadTx<'b>, &'a Call<'c>) -> Result<Response, IamError>
        + Send
        + 'static,
{
    Decl {
        resource,
        keys: RequestKeys::default(),
        exec: Exec::Read(Box::new(f)),
    }
}

fn w<F>(resource: Resource, f: F) -> Decl
where
    F: for<'a, 'b, 'c> FnOnce(&'a mut WriteTx<'b>, &'a Call<'c>) -> Result<Response, IamError>
        + Send
        + 'static,
{
    Decl {
        resource,
        keys: RequestKeys::default(),
        exec: Exec::Write(Box::new(f)),
    }
}

fn user(name: &str) -> Resource {
    Resource::User(Some(name.to_owned()))
}
fn user_or_caller(name: Option<&String>) -> Resource {
    Resource::User(name.cloned())
}
fn group(name: &str) -> Resource {
    Resource::Group(name.to_owned())
}
fn role(name: &str) -> Resource {
    Resource::Role(name.to_owned())
}
fn new(kind: &'static str, path: Option<&String>, name: &str) -> Resource {
    Resource::New {
        kind,
        path: path.cloned().unwrap_or_else(|| "/".to_owned()),
        name: name.to_owned(),
    }
}
fn policy(arn: &str) -> Resource {
    Resource::Policy(arn.to_owned())
}
/// A virtual MFA device: its serial number is its ARN.
fn mfa_device(serial_number: &str) -> Resource {
    Resource::EntityArn(serial_number.to_owned())
}
fn oidc(arn: &str) -> Resource {
    Resource::OidcProvider(arn.to_owned())
}
/// The provider a CreateOpenIDConnectProvider would make: named by its URL without the scheme.
fn new_oidc(url: &str) -> Resource {
    let name = url.split_once("://").map_or(url, |(_, rest)| rest);
    Resource::New {
        kind: "oidc-provider",
        path: "/".to_owned(),
        name: name.to_owned(),
    }
}

/// The IAM service over a store.
#[derive(Clone)]
pub struct Iam {
    store: Store,
    allow_insecure_oidc_loopback: bool,
}

impl Iam {
    pub fn new(store: Store) -> Self {
        Iam {
            store,
            allow_insecure_oidc_loopback: false,
        }
    }

    /// Admits `http://` OpenID Connect issuers on loopback hosts (`127.0.0.1`, `localhost`,
    /// `[::1]`): for tests that run their own issuer. Off by default; never for production.
    pub fn with_insecure_oidc_loopback(mut self, allow: bool) -> Self {
        self.allow_insecure_oidc_loopback = allow;
        self
    }

    pub fn allows_insecure_oidc_loopback(&self) -> bool {
        self.allow_insecure_oidc_loopback
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Declares an operation: its resource and whether it writes, with its behaviour.
    pub fn prepare(request: Request) -> Prepared {
        use Request as Q;
        use Response as S;
        let operation = request.operation_name();
        let decl = match request {
            // users
            Q::CreateUser(i) => keyed(
                k().tags(i.tags.as_ref())
                    .sets_boundary(i.permissions_boundary.as_ref()),
                w(new("user", i.path.as_ref(), &i.user_name), |tx, c| {
                    users::create_user(tx, c, i).map(S::CreateUser)
                }),
            ),
            Q::GetUser(i) => r(user_or_caller(i.user_name.as_ref()), move |tx, c| {
                users::get_user(tx, c, i.clone()).map(S::GetUser)
            }),
            Q::UpdateUser(i) => w(user(&i.user_name), |tx, c| {
                users::update_user(tx, c, i).map(|()| S::UpdateUser)
            }),
            Q::DeleteUser(i) => w(user(&i.user_name), |tx, c| {
                users::delete_user(tx, c, i).map(|()| S::DeleteUser)
            }),
            Q::ListUsers(i) => r(Resource::Collection("user/"), move |tx, c| {
                users::list_users(tx, c, i.clone()).map(S::ListUsers)
            }),
            Q::TagUser(i) => keyed(
                k().tags(Some(&i.tags)),
                w(user(&i.user_name), |tx, c| {
                    users::tag_user(tx, c, i).map(|()| S::TagUser)
                }),
            ),
            Q::UntagUser(i) => keyed(
                k().tag_keys(&i.tag_keys),
                w(user(&i.user_name), |tx, c| {
                    users::untag_user(tx, c, i).map(|()| S::UntagUser)
                }),
            ),
            Q::ListUserTags(i) => r(user(&i.user_name), move |tx, c| {
                users::list_user_tags(tx, c, i.clone()).map(S::ListUserTags)
            }),
            // groups
            Q::CreateGroup(i) => w(new("group", i.path.as_ref(), &i.group_name), |tx, c| {
                groups::create_group(tx, c, i).map(S::CreateGroup)
            }),
            Q::GetGroup(i) => r(group(&i.group_name), move |tx, c| {
                groups::get_group(tx, c, i.clone()).map(S::GetGroup)
            }),
            Q::UpdateGroup(i) => w(group(&i.group_name), |tx, c| {
                groups::update_group(tx, c, i).map(|()| S::UpdateGroup)
            }),
            Q::DeleteGroup(i) => w(group(&i.group_name), |tx, c| {
                groups::delete_group(tx, c, i).map(|()| S::DeleteGroup)
            }),
            Q::ListGroups(i) => r(Resource::Collection("group/"), move |tx, c| {
                groups::list_groups(tx, c, i.clone()).map(S::ListGroups)
            }),
            Q::AddUserToGroup(i) => w(group(&i.group_name), |tx, c| {
                groups::add_user_to_group(tx, c, i).map(|()| S::AddUserToGroup)
            }),
            Q::RemoveUserFromGroup(i) => w(group(&i.group_name), |tx, c| {
                groups::remove_user_from_group(tx, c, i).map(|()| S::RemoveUserFromGroup)
            }),
            Q::ListGroupsForUser(i) => r(user(&i.user_name), move |tx, c| {
                groups::list_groups_for_user(tx, c, i.clone()).map(S::ListGroupsForUser)
            }),
            // access keys
            Q::CreateAccessKey(i) => w(user_or_caller(i.user_name.as_ref()), |tx, c| {
                access_keys::create_access_key(tx, c, i).map(S::CreateAccessKey)
            }),
            Q::ListAccessKeys(i) => r(user_or_caller(i.user_name.as_ref()), move |tx, c| {
                access_keys::list_access_keys(tx, c, i.clone()).map(S::ListAccessKeys)
            }),
            Q::UpdateAccessKey(i) => w(user_or_caller(i.user_name.as_ref()), |tx, c| {
                access_keys::update_access_key(tx, c, i).map(|()| S::UpdateAccessKey)
            }),
            Q::DeleteAccessKey(i) => w(user_or_caller(i.user_name.as_ref()), |tx, c| {
                access_keys::delete_access_key(tx, c, i).map(|()| S::DeleteAccessKey)
            }),
            Q::GetAccessKeyLastUsed(i) => r(Resource::Any, move |tx, c| {
                access_keys::get_access_key_last_used(tx, c, i.clone()).map(S::GetAccessKeyLastUsed)
            }),
            // passwords
            Q::CreateLoginProfile(i) => w(user_or_caller(i.user_name.as_ref()), |tx, c| {
                passwords::create_login_profile(tx, c, i).map(S::CreateLoginProfile)
            }),
            Q::GetLoginProfile(i) => r(user_or_caller(i.user_name.as_ref()), move |tx, c| {
                passwords::get_login_profile(tx, c, i.clone()).map(S::GetLoginProfile)
            }),
            Q::UpdateLoginProfile(i) => w(user(&i.user_name), |tx, c| {
                passwords::update_login_profile(tx, c, i).map(|()| S::UpdateLoginProfile)
            }),
            Q::DeleteLoginProfile(i) => w(user_or_caller(i.user_name.as_ref()), |tx, c| {
                passwords::delete_login_profile(tx, c, i).map(|()| S::DeleteLoginProfile)
            }),
            Q::ChangePassword(i) => w(Resource::User(None), |tx, c| {
                passwords::change_password(tx, c, i).map(|()| S::ChangePassword)
            }),
            Q::UpdateAccountPasswordPolicy(i) => w(Resource::Any, |tx, c| {
                passwords::update_account_password_policy(tx, c, i)
                    .map(|()| S::UpdateAccountPasswordPolicy)
            }),
            Q::GetAccountPasswordPolicy => r(Resource::Any, |tx, c| {
                passwords::get_account_password_policy(tx, c).map(S::GetAccountPasswordPolicy)
            }),
            Q::DeleteAccountPasswordPolicy => w(Resource::Any, |tx, c| {
                passwords::delete_account_password_policy(tx, c)
                    .map(|()| S::DeleteAccountPasswordPolicy)
            }),
            // managed policies
            Q::CreatePolicy(i) => keyed(
                k().tags(i.tags.as_ref()),
                w(new("policy", i.path.as_ref(), &i.policy_name), |tx, c| {
                    policies::create_policy(tx, c, i).map(S::CreatePolicy)
                }),
            ),
            Q::GetPolicy(i) => r(policy(&i.policy_arn), move |tx, c| {
                policies::get_policy(tx, c, i.clone()).map(S::GetPolicy)
            }),
            Q::DeletePolicy(i) => w(policy(&i.policy_arn), |tx, c| {
                policies::delete_policy(tx, c, i).map(|()| S::DeletePolicy)
            }),
            Q::ListPolicies(i) => r(Resource::Collection("policy/"), move |tx, c| {
                policies::list_policies(tx, c, i.clone()).map(S::ListPolicies)
            }),
            Q::CreatePolicyVersion(i) => w(policy(&i.policy_arn), |tx, c| {
                policies::create_policy_version(tx, c, i).map(S::CreatePolicyVersion)
            }),
            Q::GetPolicyVersion(i) => r(policy(&i.policy_arn), move |tx, c| {
                policies::get_policy_version(tx, c, i.clone()).map(S::GetPolicyVersion)
            }),
            Q::ListPolicyVersions(i) => r(policy(&i.policy_arn), move |tx, c| {
                policies::list_policy_versions(tx, c, i.clone()).map(S::ListPolicyVersions)
            }),
            Q::DeletePolicyVersion(i) => w(policy(&i.policy_arn), |tx, c| {
                policies::delete_policy_version(tx, c, i).map(|()| S::DeletePolicyVersion)
            }),
            Q::SetDefaultPolicyVersion(i) => w(policy(&i.policy_arn), |tx, c| {
                policies::set_default_policy_version(tx, c, i).map(|()| S::SetDefaultPolicyVersion)
            }),
            Q::TagPolicy(i) => keyed(
                k().tags(Some(&i.tags)),
                w(policy(&i.policy_arn), |tx, c| {
                    policies::tag_policy(tx, c, i).map(|()| S::TagPolicy)
                }),
            ),
            Q::UntagPolicy(i) => keyed(
                k().tag_keys(&i.tag_keys),
                w(policy(&i.policy_arn), |tx, c| {
                    policies::untag_policy(tx, c, i).map(|()| S::UntagPolicy)
                }),
            ),
            Q::ListPolicyTags(i) => r(policy(&i.policy_arn), move |tx, c| {
                policies::list_policy_tags(tx, c, i.clone()).map(S::ListPolicyTags)
            }),
            Q::ListEntitiesForPolicy(i) => r(policy(&i.policy_arn), move |tx, c| {
                attachments::list_entities_for_policy(tx, c, i.clone())
                    .map(S::ListEntitiesForPolicy)
            }),
            // attachments
            Q::AttachUserPolicy(i) => keyed(
                k().policy_arn(&i.policy_arn).current_boundary(),
                w(user(&i.user_name), |tx, c| {
                    attachments::attach_user_policy(tx, c, i).map(|()| S::AttachUserPolicy)
                }),
            ),
            Q::DetachUserPolicy(i) => keyed(
                k().policy_arn(&i.policy_arn).current_boundary(),
                w(user(&i.user_name), |tx, c| {
                    attachments::detach_user_policy(tx, c, i).map(|()| S::DetachUserPolicy)
                }),
            ),
            Q::AttachGroupPolicy(i) => keyed(
                k().policy_arn(&i.policy_arn),
                w(group(&i.group_name), |tx, c| {
                    attachments::attach_group_policy(tx, c, i).map(|()| S::AttachGroupPolicy)
                }),
            ),
            Q::DetachGroupPolicy(i) => keyed(
                k().policy_arn(&i.policy_arn),
                w(group(&i.group_name), |tx, c| {
                    attachments::detach_group_policy(tx, c, i).map(|()| S::DetachGroupPolicy)
                }),
            ),
            Q::AttachRolePolicy(i) => keyed(
                k().policy_arn(&i.policy_arn).current_boundary(),
                w(role(&i.role_name), |tx, c| {
                    attachments::attach_role_policy(tx, c, i).map(|()| S::AttachRolePolicy)
                }),
            ),
            Q::DetachRolePolicy(i) => keyed(
                k().policy_arn(&i.policy_arn).current_boundary(),
                w(role(&i.role_name), |tx, c| {
                    attachments::detach_role_policy(tx, c, i).map(|()| S::DetachRolePolicy)
                }),
            ),
            Q::ListAttachedUserPolicies(i) => r(user(&i.user_name), move |tx, c| {
                attachments::list_attached_user_policies(tx, c, i.clone())
                    .map(S::ListAttachedUserPolicies)
            }),
            Q::ListAttachedGroupPolicies(i) => r(group(&i.group_name), move |tx, c| {
                attachments::list_attached_group_policies(tx, c, i.clone())
                    .map(S::ListAttachedGroupPolicies)
            }),
            Q::ListAttachedRolePolicies(i) => r(role(&i.role_name), move |tx, c| {
                attachments::list_attached_role_policies(tx, c, i.clone())
                    .map(S::ListAttachedRolePolicies)
            }),
            // inline policies
            Q::PutUserPolicy(i) => keyed(
                k().current_boundary(),
                w(user(&i.user_name), |tx, c| {
                    inline::put_user_policy(tx, c, i).map(|()| S::PutUserPolicy)
                }),
            ),
            Q::GetUserPolicy(i) => r(user(&i.user_name), move |tx, c| {
                inline::get_user_policy(tx, c, i.clone()).map(S::GetUserPolicy)
            }),
            Q::DeleteUserPolicy(i) => keyed(
                k().current_boundary(),
                w(user(&i.user_name), |tx, c| {
                    inline::delete_user_policy(tx, c, i).map(|()| S::DeleteUserPolicy)
                }),
            ),
            Q::ListUserPolicies(i) => r(user(&i.user_name), move |tx, c| {
                inline::list_user_policies(tx, c, i.clone()).map(S::ListUserPolicies)
            }),
            Q::PutGroupPolicy(i) => w(group(&i.group_name), |tx, c| {
                inline::put_group_policy(tx, c, i).map(|()| S::PutGroupPolicy)
            }),
            Q::GetGroupPolicy(i) => r(group(&i.group_name), move |tx, c| {
                inline::get_group_policy(tx, c, i.clone()).map(S::GetGroupPolicy)
            }),
            Q::DeleteGroupPolicy(i) => w(group(&i.group_name), |tx, c| {
                inline::delete_group_policy(tx, c, i).map(|()| S::DeleteGroupPolicy)
            }),
            Q::ListGroupPolicies(i) => r(group(&i.group_name), move |tx, c| {
                inline::list_group_policies(tx, c, i.clone()).map(S::ListGroupPolicies)
            }),
            Q::PutRolePolicy(i) => keyed(
                k().current_boundary(),
                w(role(&i.role_name), |tx, c| {
                    inline::put_role_policy(tx, c, i).map(|()| S::PutRolePolicy)
                }),
            ),
            Q::GetRolePolicy(i) => r(role(&i.role_name), move |tx, c| {
                inline::get_role_policy(tx, c, i.clone()).map(S::GetRolePolicy)
            }),
            Q::DeleteRolePolicy(i) => keyed(
                k().current_boundary(),
                w(role(&i.role_name), |tx, c| {
                    inline::delete_role_policy(tx, c, i).map(|()| S::DeleteRolePolicy)
                }),
            ),
            Q::ListRolePolicies(i) => r(role(&i.role_name), move |tx, c| {
                inline::list_role_policies(tx, c, i.clone()).map(S::ListRolePolicies)
            }),
            // roles
            Q::CreateRole(i) => keyed(
                k().tags(i.tags.as_ref())
                    .sets_boundary(i.permissions_boundary.as_ref()),
                w(new("role", i.path.as_ref(), &i.role_name), |tx, c| {
                    roles::create_role(tx, c, i).map(S::CreateRole)
                }),
            ),
            Q::GetRole(i) => r(role(&i.role_name), move |tx, c| {
                roles::get_role(tx, c, i.clone()).map(S::GetRole)
            }),
            Q::UpdateRole(i) => w(role(&i.role_name), |tx, c| {
                roles::update_role(tx, c, i).map(S::UpdateRole)
            }),
            Q::DeleteRole(i) => w(role(&i.role_name), |tx, c| {
                roles::delete_role(tx, c, i).map(|()| S::DeleteRole)
            }),
            Q::ListRoles(i) => r(Resource::Collection("role/"), move |tx, c| {
                roles::list_roles(tx, c, i.clone()).map(S::ListRoles)
            }),
            Q::UpdateAssumeRolePolicy(i) => w(role(&i.role_name), |tx, c| {
                roles::update_assume_role_policy(tx, c, i).map(|()| S::UpdateAssumeRolePolicy)
            }),
            Q::UpdateRoleDescription(i) => w(role(&i.role_name), |tx, c| {
                roles::update_role_description(tx, c, i).map(S::UpdateRoleDescription)
            }),
            Q::TagRole(i) => keyed(
                k().tags(Some(&i.tags)),
                w(role(&i.role_name), |tx, c| {
                    roles::tag_role(tx, c, i).map(|()| S::TagRole)
                }),
            ),
            Q::UntagRole(i) => keyed(
                k().tag_keys(&i.tag_keys),
                w(role(&i.role_name), |tx, c| {
                    roles::untag_role(tx, c, i).map(|()| S::UntagRole)
                }),
            ),
            Q::ListRoleTags(i) => r(role(&i.role_name), move |tx, c| {
                roles::list_role_tags(tx, c, i.clone()).map(S::ListRoleTags)
            }),
            // permissions boundaries
            Q::PutUserPermissionsBoundary(i) => keyed(
                k().sets_boundary(Some(&i.permissions_boundary)),
                w(user(&i.user_name), |tx, c| {
                    boundaries::put_user_permissions_boundary(tx, c, i)
                        .map(|()| S::PutUserPermissionsBoundary)
                }),
            ),
            Q::DeleteUserPermissionsBoundary(i) => keyed(
                k().current_boundary(),
                w(user(&i.user_name), |tx, c| {
                    boundaries::delete_user_permissions_boundary(tx, c, i)
                        .map(|()| S::DeleteUserPermissionsBoundary)
                }),
            ),
            Q::PutRolePermissionsBoundary(i) => keyed(
                k().sets_boundary(Some(&i.permissions_boundary)),
                w(role(&i.role_name), |tx, c| {
                    boundaries::put_role_permissions_boundary(tx, c, i)
                        .map(|()| S::PutRolePermissionsBoundary)
                }),
            ),
            Q::DeleteRolePermissionsBoundary(i) => keyed(
                k().current_boundary(),
                w(role(&i.role_name), |tx, c| {
                    boundaries::delete_role_permissions_boundary(tx, c, i)
                        .map(|()| S::DeleteRolePermissionsBoundary)
                }),
            ),
            // account
            Q::CreateAccountAlias(i) => w(Resource::Any, |tx, c| {
                account::create_account_alias(tx, c, i).map(|()| S::CreateAccountAlias)
            }),
            Q::DeleteAccountAlias(i) => w(Resource::Any, |tx, c| {
                account::delete_account_alias(tx, c, i).map(|()| S::DeleteAccountAlias)
            }),
            Q::ListAccountAliases(i) => r(Resource::Any, move |tx, c| {
                account::list_account_aliases(tx, c, i.clone()).map(S::ListAccountAliases)
            }),
            Q::GetAccountSummary => r(Resource::Any, |tx, c| {
                account::get_account_summary(tx, c).map(S::GetAccountSummary)
            }),
            Q::GetAccountAuthorizationDetails(i) => r(Resource::Any, move |tx, c| {
                details::get_account_authorization_details(tx, c, i.clone())
                    .map(S::GetAccountAuthorizationDetails)
            }),
            // policy simulation
            Q::SimulatePrincipalPolicy(i) => r(
                Resource::EntityArn(i.policy_source_arn.clone()),
                move |tx, c| {
                    simulator::simulate_principal_policy(tx, c, i.clone())
                        .map(S::SimulatePrincipalPolicy)
                },
            ),
            Q::SimulateCustomPolicy(i) => r(Resource::Any, move |tx, c| {
                simulator::simulate_custom_policy(tx, c, i.clone()).map(S::SimulateCustomPolicy)
            }),
            Q::GetContextKeysForPrincipalPolicy(i) => r(
                Resource::EntityArn(i.policy_source_arn.clone()),
                move |tx, c| {
                    simulator::get_context_keys_for_principal_policy(tx, c, i.clone())
                        .map(S::GetContextKeysForPrincipalPolicy)
                },
            ),
            Q::GetContextKeysForCustomPolicy(i) => r(Resource::Any, move |tx, c| {
                simulator::get_context_keys_for_custom_policy(tx, c, i.clone())
                    .map(S::GetContextKeysForCustomPolicy)
            }),
            // MFA: devices by serial number (their ARN); enabling and the rest act on the user
            Q::CreateVirtualMFADevice(i) => keyed(
                k().tags(i.tags.as_ref()),
                w(
                    new("mfa", i.path.as_ref(), &i.virtual_mfa_device_name),
                    |tx, c| mfa::create_virtual_mfa_device(tx, c, i).map(S::CreateVirtualMFADevice),
                ),
            ),
            Q::DeleteVirtualMFADevice(i) => w(mfa_device(&i.serial_number), |tx, c| {
                mfa::delete_virtual_mfa_device(tx, c, i).map(|()| S::DeleteVirtualMFADevice)
            }),
            Q::ListVirtualMFADevices(i) => r(Resource::Collection("mfa/"), move |tx, c| {
                mfa::list_virtual_mfa_devices(tx, c, i.clone()).map(S::ListVirtualMFADevices)
            }),
            Q::EnableMFADevice(i) => w(user_or_caller(i.user_name.as_ref()), |tx, c| {
                mfa::enable_mfa_device(tx, c, i).map(|()| S::EnableMFADevice)
            }),
            Q::ResyncMFADevice(i) => w(user_or_caller(i.user_name.as_ref()), |tx, c| {
                mfa::resync_mfa_device(tx, c, i).map(|()| S::ResyncMFADevice)
            }),
            Q::DeactivateMFADevice(i) => w(user_or_caller(i.user_name.as_ref()), |tx, c| {
                mfa::deactivate_mfa_device(tx, c, i).map(|()| S::DeactivateMFADevice)
            }),
            Q::ListMFADevices(i) => r(user_or_caller(i.user_name.as_ref()), move |tx, c| {
                mfa::list_mfa_devices(tx, c, i.clone()).map(S::ListMFADevices)
            }),
            Q::GetMFADevice(i) => r(user_or_caller(i.user_name.as_ref()), move |tx, c| {
                mfa::get_mfa_device(tx, c, i.clone()).map(S::GetMFADevice)
            }),
            Q::TagMFADevice(i) => keyed(
                k().tags(Some(&i.tags)),
                w(mfa_device(&i.serial_number), |tx, c| {
                    mfa::tag_mfa_device(tx, c, i).map(|()| S::TagMFADevice)
                }),
            ),
            Q::UntagMFADevice(i) => keyed(
                k().tag_keys(&i.tag_keys),
                w(mfa_device(&i.serial_number), |tx, c| {
                    mfa::untag_mfa_device(tx, c, i).map(|()| S::UntagMFADevice)
                }),
            ),
            Q::ListMFADeviceTags(i) => r(mfa_device(&i.serial_number), move |tx, c| {
                mfa::list_mfa_device_tags(tx, c, i.clone()).map(S::ListMFADeviceTags)
            }),
            // credential report
            Q::GenerateCredentialReport => w(Resource::Any, |tx, c| {
                credential_report::generate_credential_report(tx, c)
                    .map(S::GenerateCredentialReport)
            }),
            Q::GetCredentialReport => r(Resource::Any, |tx, c| {
                credential_report::get_credential_report(tx, c).map(S::GetCredentialReport)
            }),
            // OpenID Connect providers
            Q::CreateOpenIDConnectProvider(i) => keyed(
                k().tags(i.tags.as_ref()),
                w(new_oidc(&i.url), |tx, c| {
                    oidc_providers::create_open_id_connect_provider(tx, c, i)
                        .map(S::CreateOpenIDConnectProvider)
                }),
            ),
            Q::GetOpenIDConnectProvider(i) => {
                r(oidc(&i.open_id_connect_provider_arn), move |tx, c| {
                    oidc_providers::get_open_id_connect_provider(tx, c, i.clone())
                        .map(S::GetOpenIDConnectProvider)
                })
            }
            Q::ListOpenIDConnectProviders(_) => r(Resource::Any, |tx, c| {
                oidc_providers::list_open_id_connect_providers(tx, c)
                    .map(S::ListOpenIDConnectProviders)
            }),
            Q::DeleteOpenIDConnectProvider(i) => {
                w(oidc(&i.open_id_connect_provider_arn), |tx, c| {
                    oidc_providers::delete_open_id_connect_provider(tx, c, i)
                        .map(|()| S::DeleteOpenIDConnectProvider)
                })
            }
            Q::UpdateOpenIDConnectProviderThumbprint(i) => {
                w(oidc(&i.open_id_connect_provider_arn), |tx, c| {
                    oidc_providers::update_open_id_connect_provider_thumbprint(tx, c, i)
                        .map(|()| S::UpdateOpenIDConnectProviderThumbprint)
                })
            }
            Q::AddClientIDToOpenIDConnectProvider(i) => {
                w(oidc(&i.open_id_connect_provider_arn), |tx, c| {
                    oidc_providers::add_client_id_to_open_id_connect_provider(tx, c, i)
                        .map(|()| S::AddClientIDToOpenIDConnectProvider)
                })
            }
            Q::RemoveClientIDFromOpenIDConnectProvider(i) => {
                w(oidc(&i.open_id_connect_provider_arn), |tx, c| {
                    oidc_providers::remove_client_id_from_open_id_connect_provider(tx, c, i)
                        .map(|()| S::RemoveClientIDFromOpenIDConnectProvider)
                })
            }
            Q::TagOpenIDConnectProvider(i) => keyed(
                k().tags(Some(&i.tags)),
                w(oidc(&i.open_id_connect_provider_arn), |tx, c| {
                    oidc_providers::tag_open_id_connect_provider(tx, c, i)
                        .map(|()| S::TagOpenIDConnectProvider)
                }),
            ),
            Q::UntagOpenIDConnectProvider(i) => keyed(
                k().tag_keys(&i.tag_keys),
                w(oidc(&i.open_id_connect_provider_arn), |tx, c| {
                    oidc_providers::untag_open_id_connect_provider(tx, c, i)
                        .map(|()| S::UntagOpenIDConnectProvider)
                }),
            ),
            Q::ListOpenIDConnectProviderTags(i) => {
                r(oidc(&i.open_id_connect_provider_arn), move |tx, c| {
                    oidc_providers::list_open_id_connect_provider_tags(tx, c, i.clone())
                        .map(S::ListOpenIDConnectProviderTags)
                })
            }
        };
        Prepared {
            operation,
            resource: decl.resource,
            keys: decl.keys,
            exec: decl.exec,
        }
    }

    /// Runs a prepared operation in one transaction (a snapshot for reads).
    pub fn execute(&self, prepared: Prepared, call: &Call<'_>) -> Result<Response, IamError> {
        match prepared.exec {
            Exec::Read(f) => self.store.read(|tx| f(tx, call)),
            Exec::Write(f) => self.store.write(|tx| f(tx, call)),
        }
    }
}

/// Every account this node serves is recorded here; used at start-up.
pub fn account_exists(tx: &impl Reader, account: AccountId) -> Result<bool, IamError> {
    Ok(tx.exists::<records::AccountRecord>(moat_store::GLOBAL, &account.to_string())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_loads() {
        let m = model();
        for op in OPERATION_NAMES {
            assert!(m.operation(op).is_some(), "{op} missing from the model");
        }
    }

    #[test]
    fn reads_and_writes_are_declared_as_aws_names_suggest() {
        // Every Get/List/Simulate operation must run on a read snapshot and every other one in a write
        // transaction; a wrong declaration would skip auditing rules or durability.
        for op in OPERATION_NAMES {
            let input = serde_json::json!({
                "UserName": "u", "GroupName": "g", "RoleName": "r", "PolicyArn": "arn:aws:iam::aws:policy/X",
                "PolicyName": "p", "PolicyDocument": "{}", "AssumeRolePolicyDocument": "{}",
                "AccessKeyId": "AKIAXXXXXXXXXXXXXXXX", "Status": "Active", "Password": "x",
                "OldPassword": "x", "NewPassword": "x", "VersionId": "v1", "Tags": [], "TagKeys": [],
                "AccountAlias": "a", "Description": "d",
                "PermissionsBoundary": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "PolicySourceArn": "arn:aws:iam::123456789012:user/u", "PolicyInputList": [],
                "ActionNames": ["iam:GetUser"],
                "SerialNumber": "arn:aws:iam::123456789012:mfa/d", "VirtualMFADeviceName": "d",
                "AuthenticationCode1": "123456", "AuthenticationCode2": "123456",
                "OpenIDConnectProviderArn": "arn:aws:iam::123456789012:oidc-provider/x.example",
                "Url": "https://x.example", "ClientID": "c", "ThumbprintList": []
            });
            let req = Request::from_value(op, input).unwrap().unwrap();
            let p = Iam::prepare(req);
            assert_eq!(p.operation, *op);
            let looks_read_only =
                op.starts_with("Get") || op.starts_with("List") || op.starts_with("Simulate");
            assert_eq!(p.read_only(), looks_read_only, "{op}");
            assert_eq!(p.action(), format!("iam:{op}"));
        }
    }
}

#[cfg(test)]
mod wire_equivalence;

/// Unit-test support: an in-memory store, a root caller, and a way to run any operation from
/// its JSON input, as the server would after decoding.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use moat_store::RootKey;
    use moat_types::{iam_arn, Principal, PrincipalKind};

    pub const ACCOUNT: &str = "123456789012";

    pub struct Env {
        pub iam: Iam,
        pub root: Principal,
        pub now: time::OffsetDateTime,
    }

    impl Env {
        pub fn new() -> Env {
            let store = Store::open_in_memory(RootKey::from_bytes(&[9u8; 32]).unwrap()).unwrap();
            let account: AccountId = ACCOUNT.parse().unwrap();
            let now = time::macros::datetime!(2026-11-29 12:00 UTC);
            auth::bootstrap(&store, Some(account), None, now).unwrap();
            Env {
                iam: Iam::new(store),
                root: Principal {
                    account,
                    kind: PrincipalKind::Root,
                    arn: iam_arn(account, "root"),
                    id: ACCOUNT.to_owned(),
                    access_key_id: "AKIAROOT".to_owned(),
                    session: None,
                },
                now,
            }
        }

        /// Runs `op` as root with a JSON input (member names as on the wire).
        pub fn call(&self, op: &str, input: serde_json::Value) -> Result<Response, IamError> {
            self.call_as(&self.root.clone(), op, input)
        }

        pub fn call_as(
            &self,
            principal: &Principal,
            op: &str,
            input: serde_json::Value,
        ) -> Result<Response, IamError> {
            let req = Request::from_value(op, input)
                .expect("operation is served")
                .expect("input decodes");
            let prepared = Iam::prepare(req);
            let call = Call {
                account: principal.account,
                principal,
                now: self.now,
                root_key: self.iam.store().root_key(),
                allow_insecure_oidc_loopback: false,
            };
            self.iam.execute(prepared, &call)
        }

        /// Runs `op` and returns its output as JSON, panicking on error.
        pub fn ok(&self, op: &str, input: serde_json::Value) -> serde_json::Value {
            match self.call(op, input) {
                Ok(r) => r.to_value().unwrap().unwrap_or(serde_json::Value::Null),
                Err(e) => panic!("{op} failed: {e:?}"),
            }
        }

        /// Runs `op` expecting an error; returns its AWS code and message.
        pub fn err(&self, op: &str, input: serde_json::Value) -> (String, String) {
            use moat_wire::AwsError;
            match self.call(op, input) {
                Ok(r) => panic!("{op} unexpectedly succeeded: {r:?}"),
                Err(e) => (e.code().to_owned(), e.client_message()),
            }
        }
    }
}
