/// The IAM operations Moat serves. Adding one here generates its types; the compiler then
/// demands its declaration and behaviour in `lib.rs`.
pub const OPERATIONS: &[&str] = &[
    // users
    "CreateUser",
    "GetUser",
    "UpdateUser",
    "DeleteUser",
    "ListUsers",
    "TagUser",
    "UntagUser",
    "ListUserTags",
    // groups
    "CreateGroup",
    "GetGroup",
    "UpdateGroup",
    "DeleteGroup",
    "ListGroups",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "ListGroupsForUser",
    // access keys
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "GetAccessKeyLastUsed",
    // passwords
    "CreateLoginProfile",
    "GetLoginProfile",
    "UpdateLoginProfile",
    "DeleteLoginProfile",
    "ChangePassword",
    "UpdateAccountPasswordPolicy",
    "GetAccountPasswordPolicy",
    "DeleteAccountPasswordPolicy",
    // managed policies
    "CreatePolicy",
    "GetPolicy",
    "DeletePolicy",
    "ListPolicies",
    "CreatePolicyVersion",
    "GetPolicyVersion",
    "ListPolicyVersions",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "TagPolicy",
    "UntagPolicy",
    "ListPolicyTags",
    "ListEntitiesForPolicy",
    // attachments
    "AttachUserPolicy",
    "DetachUserPolicy",
    "AttachGroupPolicy",
    "DetachGroupPolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "ListAttachedUserPolicies",
    "ListAttachedGroupPolicies",
    "ListAttachedRolePolicies",
    // inline policies
    "PutUserPolicy",
    "GetUserPolicy",
    "DeleteUserPolicy",
    "ListUserPolicies",
    "PutGroupPolicy",
    "GetGroupPolicy",
    "DeleteGroupPolicy",
    "ListGroupPolicies",
    "PutRolePolicy",
    "GetRolePolicy",
    "DeleteRolePolicy",
    "ListRolePolicies",
    // roles
    "CreateRole",
    "GetRole",
    "UpdateRole",
    "DeleteRole",
    "ListRoles",
    "UpdateAssumeRolePolicy",
    "UpdateRoleDescription",
    "TagRole",
    "UntagRole",
    "ListRoleTags",
    // permissions boundaries
    "PutUserPermissionsBoundary",
    "DeleteUserPermissionsBoundary",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    // account
    "CreateAccountAlias",
    "DeleteAccountAlias",
    "ListAccountAliases",
    "GetAccountSummary",
    "GetAccountAuthorizationDetails",
    // policy simulation
    "SimulatePrincipalPolicy",
    "SimulateCustomPolicy",
    "GetContextKeysForPrincipalPolicy",
    "GetContextKeysForCustomPolicy",
    // MFA
    "CreateVirtualMFADevice",
    "DeleteVirtualMFADevice",
    "ListVirtualMFADevices",
    "EnableMFADevice",
    "ResyncMFADevice",
    "DeactivateMFADevice",
    "ListMFADevices",
    "GetMFADevice",
    "TagMFADevice",
    "UntagMFADevice",
    "ListMFADeviceTags",
    // credential report
    "GenerateCredentialReport",
    "GetCredentialReport",
    // OpenID Connect identity providers
    "CreateOpenIDConnectProvider",
    "GetOpenIDConnectProvider",
    "ListOpenIDConnectProviders",
    "DeleteOpenIDConnectProvider",
    "UpdateOpenIDConnectProviderThumbprint",
    "AddClientIDToOpenIDConnectProvider",
    "RemoveClientIDFromOpenIDConnectProvider",
    "TagOpenIDConnectProvider",
    "UntagOpenIDConnectProvider",
    "ListOpenIDConnectProviderTags",
];

/// Members the model requires that Moat accepts without, as (input shape, member). The root
/// user enables and resyncs its own virtual MFA device through the API (AWS does it only in the
/// console): an `EnableMFADevice` or `ResyncMFADevice` without `UserName`, signed by root, is
/// about root's own device (`mfa.rs`).
pub const OPTIONAL_IN_MOAT: &[(&str, &str)] = &[
    ("EnableMFADeviceRequest", "UserName"),
    ("ResyncMFADeviceRequest", "UserName"),
];

/// The botocore model as Moat serves it: `OPTIONAL_IN_MOAT` removed from `required`. The build
/// script generates types from it and the wire validator reads it, so the two agree.
pub fn served_model(model_json: &str) -> Result<String, serde_json::Error> {
    let mut model: serde_json::Value = serde_json::from_str(model_json)?;
    for (shape, member) in OPTIONAL_IN_MOAT {
        if let Some(required) = model
            .pointer_mut(&format!("/shapes/{shape}/required"))
            .and_then(serde_json::Value::as_array_mut)
        {
            required.retain(|m| m.as_str() != Some(member));
        }
    }
    serde_json::to_string(&model)
}
