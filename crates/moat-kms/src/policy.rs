//! Key policies: the default one, their validation, and the lockout safety check.

use moat_policy::{
    evaluate, ContextKeys, Inputs, PolicyKind, PolicySet, Request, RequestPrincipal,
    ResourcePolicyKind,
};
use moat_types::{Principal, PrincipalKind};

use crate::KmsError;

/// A key's one policy name.
pub const POLICY_NAME: &str = "default";

/// The default key policy: the account's IAM policies decide (AWS's "Enable IAM User
/// Permissions"), formatted as AWS returns it.
pub fn default_policy(account: &str) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{account}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
    )
}

/// Checks a key policy's grammar, and unless `bypass_lockout` that it lets `caller` change
/// the policy again: a policy that does not would lock everyone out of the key.
pub fn check(
    document: &str,
    key_arn: &str,
    caller: &Principal,
    bypass_lockout: bool,
) -> Result<(), KmsError> {
    let policy = moat_policy::parse(document, PolicyKind::Resource)
        .map_err(|e| KmsError::MalformedPolicyDocument(e.to_string()))?;
    if bypass_lockout {
        return Ok(());
    }
    // The caller's own IAM policies are taken to allow it: the check asks whether the key
    // policy itself, directly or by delegating to the account, would still admit the caller.
    let request_principal = match &caller.kind {
        PrincipalKind::Root => RequestPrincipal::root(&caller.account.to_string()),
        PrincipalKind::AssumedRole { .. } => match caller.role_arn() {
            Some(role) => RequestPrincipal::role_session(caller.arn.clone(), role),
            None => RequestPrincipal::user(caller.arn.clone()),
        },
        _ => RequestPrincipal::user(caller.arn.clone()),
    };
    let allow_all = moat_policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        PolicyKind::Identity,
    )
    .map_err(|e| KmsError::Internal(format!("the allow-all policy does not parse: {e}")))?;
    let identity = PolicySet::new([("caller".to_owned(), &allow_all)]);
    let key_policy = PolicySet::new([(key_arn.to_owned(), &policy)]);
    let keys = ContextKeys::new();
    let request = Request::new(&request_principal, "kms:PutKeyPolicy", key_arn, &keys);
    let account = caller.account.to_string();
    let inputs = Inputs::new(&identity)
        .with_resource_policy(&key_policy, ResourcePolicyKind::KeyPolicy)
        .with_resource_account(&account);
    if evaluate(&inputs, &request).is_allowed() {
        Ok(())
    } else {
        Err(KmsError::MalformedPolicyDocument(
            "The new key policy will not allow you to update the key policy in the future."
                .to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Principal {
        Principal::long_term(
            "111122223333".parse().unwrap(),
            PrincipalKind::Root,
            "arn:aws:iam::111122223333:root".into(),
            "111122223333".into(),
            "AKIAEXAMPLE".into(),
        )
    }

    #[test]
    fn default_policy_parses_and_admits_the_account() {
        let doc = default_policy("111122223333");
        assert!(check(
            &doc,
            "arn:aws:kms:us-east-1:111122223333:key/k",
            &root(),
            false
        )
        .is_ok());
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(
            v["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::111122223333:root"
        );
    }

    #[test]
    fn a_policy_that_locks_out_is_refused_unless_bypassed() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:Encrypt","Resource":"*"}]}"#;
        let arn = "arn:aws:kms:us-east-1:111122223333:key/k";
        assert!(matches!(
            check(doc, arn, &root(), false),
            Err(KmsError::MalformedPolicyDocument(_))
        ));
        assert!(check(doc, arn, &root(), true).is_ok());
        assert!(matches!(
            check("{not json", arn, &root(), true),
            Err(KmsError::MalformedPolicyDocument(_))
        ));
    }
}
