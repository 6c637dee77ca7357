//! `Principal`/`NotPrincipal`: who a resource-based or trust policy statement applies to.

use crate::error::PolicyError;
use crate::json::Json;
use crate::resource::PARTITIONS;

/// The `Principal` or `NotPrincipal` element of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalBlock {
    Principal(Principals),
    /// Everyone except the listed principals.
    NotPrincipal(Principals),
}

impl PrincipalBlock {
    pub fn principals(&self) -> &Principals {
        match self {
            PrincipalBlock::Principal(p) | PrincipalBlock::NotPrincipal(p) => p,
        }
    }
}

/// The principals named by a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"Principal": "*"`: everyone, including anonymous callers.
    Everyone,
    /// `"Principal": {"AWS": ..., "Service": ..., ...}`.
    Named(NamedPrincipals),
}

/// Principals by type, each list in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedPrincipals {
    pub aws: Vec<AwsPrincipal>,
    /// Service principals such as `ec2.amazonaws.com`.
    pub service: Vec<String>,
    /// Identity providers: a SAML or OIDC provider ARN, or a web identity domain such as
    /// `cognito-identity.amazonaws.com`.
    pub federated: Vec<String>,
    /// Amazon S3 canonical user ids.
    pub canonical_user: Vec<String>,
}

impl NamedPrincipals {
    fn is_empty(&self) -> bool {
        self.aws.is_empty()
            && self.service.is_empty()
            && self.federated.is_empty()
            && self.canonical_user.is_empty()
    }
}

/// An entry of the `AWS` principal type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsPrincipal {
    /// `"AWS": "*"`.
    Everyone,
    /// A 12-digit account id, shorthand for the account's root ARN.
    Account(String),
    /// A user, role, assumed-role session, federated user or account root ARN.
    Arn(String),
}

impl AwsPrincipal {
    pub fn as_str(&self) -> &str {
        match self {
            AwsPrincipal::Everyone => "*",
            AwsPrincipal::Account(s) | AwsPrincipal::Arn(s) => s,
        }
    }
}

/// Reads the JSON shape of a principal element; any other shape is a syntax error. The values
/// themselves are checked later, by [`check_principals`], because IAM reports bad values after
/// other, more basic problems.
pub(crate) fn parse_principals(value: &Json<'_>) -> Result<Principals, PolicyError> {
    if value.as_str() == Some("*") {
        return Ok(Principals::Everyone);
    }
    let map = value.as_object().ok_or(PolicyError::Syntax)?;
    let mut named = NamedPrincipals::default();
    for (kind, values) in map {
        let values = string_or_strings(values)?;
        match kind {
            "AWS" => named.aws.extend(values.into_iter().map(|v| {
                if v == "*" {
                    AwsPrincipal::Everyone
                } else if is_account_id(&v) {
                    AwsPrincipal::Account(v)
                } else {
                    AwsPrincipal::Arn(v)
                }
            })),
            "Service" => named.service.extend(values),
            "Federated" => named.federated.extend(values),
            "CanonicalUser" => named.canonical_user.extend(values),
            _ => return Err(PolicyError::Syntax),
        }
    }
    Ok(Principals::Named(named))
}

fn string_or_strings(value: &Json<'_>) -> Result<Vec<String>, PolicyError> {
    match value {
        Json::String(s) => Ok(vec![s.to_string()]),
        Json::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(PolicyError::Syntax))
            .collect(),
        _ => Err(PolicyError::Syntax),
    }
}

/// True when the principals name nobody, which IAM treats like a missing element.
pub(crate) fn is_empty(principals: &Principals) -> bool {
    match principals {
        Principals::Everyone => false,
        Principals::Named(n) => n.is_empty(),
    }
}

/// Checks the syntax of every principal value. Whether the named users and roles exist is for
/// the caller, which knows the accounts.
pub(crate) fn check_principals(principals: &Principals) -> Result<(), PolicyError> {
    let Principals::Named(named) = principals else {
        return Ok(());
    };
    for aws in &named.aws {
        if let AwsPrincipal::Arn(arn) = aws {
            if !is_aws_principal_arn(arn) {
                return Err(PolicyError::InvalidPrincipal {
                    kind: "AWS",
                    value: arn.clone(),
                });
            }
        }
    }
    if let Some(bad) = named.canonical_user.iter().find(|c| !is_canonical_user(c)) {
        return Err(PolicyError::InvalidPrincipal {
            kind: "CANONICAL_USER",
            value: bad.clone(),
        });
    }
    if named.federated.iter().any(|f| !is_federated(f)) {
        return Err(PolicyError::InvalidFederatedPrincipal);
    }
    if let Some(bad) = named.service.iter().find(|s| !is_service_principal(s)) {
        return Err(PolicyError::InvalidPrincipal {
            kind: "SERVICE",
            value: bad.clone(),
        });
    }
    Ok(())
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:partition:iam::account:{root|user/...|role/...}` or
/// `arn:partition:sts::account:{assumed-role/role/session|federated-user/name}`, without
/// wildcards: IAM does not accept partial wildcards in principals.
fn is_aws_principal_arn(arn: &str) -> bool {
    if arn.contains(['*', '?']) {
        return false;
    }
    let mut fields = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(resource)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return false;
    };
    if !PARTITIONS.contains(&partition) {
        return false;
    }
    let named = |prefix: &str| {
        resource
            .strip_prefix(prefix)
            .is_some_and(|name| !name.is_empty() && !name.ends_with('/'))
    };
    match service {
        "iam" if is_account_id(account) => resource == "root" || named("user/") || named("role/"),
        // CloudFront origin access identities are IAM users in a pseudo-account.
        "iam" if account == "cloudfront" => named("user/"),
        "sts" if is_account_id(account) => {
            resource
                .strip_prefix("assumed-role/")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(role, session)| !role.is_empty() && !session.is_empty())
                || named("federated-user/")
        }
        _ => false,
    }
}

fn is_canonical_user(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A DNS-style name with at least `min_labels` labels of letters, digits, `-` and `_`.
fn is_dns_name(s: &str, min_labels: usize) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= min_labels
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Service principals are `service.amazonaws.com` and the like; a bare `amazonaws.com` is
/// refused by IAM.
fn is_service_principal(s: &str) -> bool {
    is_dns_name(s, 3)
}

/// A SAML or OIDC provider ARN, or a web identity provider's domain.
fn is_federated(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("arn:") {
        let mut fields = rest.splitn(5, ':');
        let (Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return false;
        };
        return PARTITIONS.contains(&partition)
            && is_account_id(account)
            && ["saml-provider/", "oidc-provider/"].iter().any(|p| {
                resource
                    .strip_prefix(p)
                    .is_some_and(|name| !name.is_empty() && !name.contains(['*', '?']))
            });
    }
    is_dns_name(s, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_arns() {
        for ok in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:user/division/alice",
            "arn:aws:iam::123456789012:role/service-role/MyRole",
            "arn:aws:sts::123456789012:assumed-role/MyRole/session",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws-cn:iam::123456789012:root",
            "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E123",
        ] {
            assert!(is_aws_principal_arn(ok), "{ok}");
        }
        for bad in [
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:iam::*:root",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam::12345678901:root",
            "arn:aws:iam:us-east-1:123456789012:root",
            "arn:aws:s3:::bucket",
            "arn:nope:iam::123456789012:root",
            "arn:aws:iam::123456789012:user/",
            "arn:aws:sts::123456789012:assumed-role/MyRole",
            "AROA27HJSWAHEPTTLIWSO",
            "alice",
        ] {
            assert!(!is_aws_principal_arn(bad), "{bad}");
        }
    }

    #[test]
    fn services_and_federated() {
        assert!(is_service_principal("ec2.amazonaws.com"));
        assert!(is_service_principal("logs.us-east-1.amazonaws.com"));
        assert!(is_service_principal("ec2.amazonaws.com.cn"));
        assert!(!is_service_principal("amazonaws.com"));
        assert!(!is_service_principal("*"));
        assert!(!is_service_principal("ec2..amazonaws.com"));

        assert!(is_federated("cognito-identity.amazonaws.com"));
        assert!(is_federated("accounts.google.com"));
        assert!(is_federated("arn:aws:iam::123456789012:saml-provider/Okta"));
        assert!(is_federated(
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
        ));
        assert!(!is_federated("arn:aws:iam::123456789012:role/x"));
        assert!(!is_federated("localhost"));
        assert!(!is_federated("*"));
    }
}
