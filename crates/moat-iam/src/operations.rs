/// The IAM operations Moat serves. Adding one here generates its types; the compiler then
/// demands its declaration and behaviour in `lib.rs`.
pub const OPERATIONS: &[&str] = &[
    // users
    "CreateUser", "GetUser", "UpdateUser", "DeleteUser", "ListUsers", "TagUser", "UntagUser",
    "ListUserTags",
    // groups
    "CreateGroup", "GetGroup", "UpdateGroup", "DeleteGroup", "ListGroups", "AddUserToGroup",
    "RemoveUserFromGroup", "ListGroupsForUser",
    // access keys
    "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey",
    "GetAccessKeyLastUsed",
    // passwords
    "CreateLoginProfile", "GetLoginProfile", "UpdateLoginProfile", "DeleteLoginProfile",
    "ChangePassword", "UpdateAccountPasswordPolicy", "GetAccountPasswordPolicy",
    "DeleteAccountPasswordPolicy",
    // managed policies
    "CreatePolicy", "GetPolicy", "DeletePolicy", "ListPolicies", "CreatePolicyVersion",
    "GetPolicyVersion", "ListPolicyVersions", "DeletePolicyVersion", "SetDefaultPolicyVersion",
    "TagPolicy", "UntagPolicy", "ListPolicyTags", "ListEntitiesForPolicy",
    // attachments
    "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy",
    "AttachRolePolicy", "DetachRolePolicy", "ListAttachedUserPolicies",
    "ListAttachedGroupPolicies", "ListAttachedRolePolicies",
    // inline policies
    "PutUserPolicy", "GetUserPolicy", "DeleteUserPolicy", "ListUserPolicies", "PutGroupPolicy",
    "GetGroupPolicy", "DeleteGroupPolicy", "ListGroupPolicies", "PutRolePolicy", "GetRolePolicy",
    "DeleteRolePolicy", "ListRolePolicies",
    // roles
    "CreateRole", "GetRole", "UpdateRole", "DeleteRole", "ListRoles", "UpdateAssumeRolePolicy",
    "UpdateRoleDescription", "TagRole", "UntagRole", "ListRoleTags",
    // permissions boundaries
    "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary", "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    // account
    "CreateAccountAlias", "DeleteAccountAlias", "ListAccountAliases", "GetAccountSummary",
    "GetAccountAuthorizationDetails",
    // policy simulation
    "SimulatePrincipalPolicy", "SimulateCustomPolicy", "GetContextKeysForPrincipalPolicy",
    "GetContextKeysForCustomPolicy",
    // OpenID Connect identity providers
    "CreateOpenIDConnectProvider", "GetOpenIDConnectProvider", "ListOpenIDConnectProviders",
    "DeleteOpenIDConnectProvider", "UpdateOpenIDConnectProviderThumbprint",
    "AddClientIDToOpenIDConnectProvider", "RemoveClientIDFromOpenIDConnectProvider",
    "TagOpenIDConnectProvider", "UntagOpenIDConnectProvider", "ListOpenIDConnectProviderTags",
];
