//! `Action`/`NotAction` patterns and IAM's checks on their syntax.

use std::fmt;

use crate::error::PolicyError;
use crate::wildcard::{CaseSensitivity, WildcardPattern};

/// One entry of an `Action` or `NotAction` list, such as `s3:Get*` or `*`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ActionPattern {
    matcher: WildcardPattern,
}

impl ActionPattern {
    /// Compiles an action pattern without checking its syntax (`parse` has done that).
    pub fn new(pattern: &str) -> Self {
        ActionPattern {
            matcher: WildcardPattern::new(pattern, CaseSensitivity::Insensitive),
        }
    }

    /// True when `action` (`service:ActionName`) is covered by this pattern. Action names are
    /// compared without regard to case, as IAM does.
    pub fn matches(&self, action: &str) -> bool {
        self.matcher.matches(action)
    }

    pub fn matches_everything(&self) -> bool {
        self.matcher.matches_everything()
    }
}

impl fmt::Debug for ActionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ActionPattern")
            .field(&self.matcher.to_string())
            .finish()
    }
}

impl fmt::Display for ActionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.matcher, f)
    }
}

/// IAM's checks on one action string, in the order IAM reports them.
pub(crate) fn check_action(action: &str) -> Result<(), PolicyError> {
    if action == "*" {
        return Ok(());
    }
    let mut parts = action.split(':');
    let vendor = parts.next().unwrap_or_default();
    match (parts.next(), parts.next()) {
        (None, _) => return Err(PolicyError::ActionWithoutVendor),
        (Some(_), Some(_)) => return Err(PolicyError::ActionTooManyColons),
        (Some(_), None) => {}
    }
    if vendor.contains(['*', '?']) {
        return Err(PolicyError::ActionVendorWildcard);
    }
    if !vendor
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(PolicyError::InvalidVendor(vendor.to_owned()));
    }
    Ok(())
}

/// The actions a role trust policy may grant: STS's role-assumption actions and the session
/// attributes that travel with them.
const TRUST_POLICY_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "sts:SetContext",
];

/// A trust policy action must name the `sts` service itself and cover at least one
/// role-assumption action: `sts:AssumeRole*` passes, `*` and `sts:TagSessions` do not.
pub(crate) fn is_trust_policy_action(action: &str) -> bool {
    let Some((vendor, _)) = action.split_once(':') else {
        return false;
    };
    if !vendor.eq_ignore_ascii_case("sts") {
        return false;
    }
    let pattern = ActionPattern::new(action);
    TRUST_POLICY_ACTIONS.iter().any(|a| pattern.matches(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_case_insensitively() {
        let p = ActionPattern::new("s3:Get*");
        assert!(p.matches("s3:GetObject"));
        assert!(p.matches("S3:getobject"));
        assert!(!p.matches("s3:PutObject"));
        assert!(ActionPattern::new("*").matches("iam:CreateUser"));
        assert!(ActionPattern::new("iam:*User").matches("IAM:createuser"));
        assert!(ActionPattern::new("ec2:Describe?nstances").matches("ec2:DescribeInstances"));
        assert!(!ActionPattern::new("iam:PassRole").matches("iam:PassRoles"));
    }

    #[test]
    fn syntax_checks() {
        assert_eq!(check_action("*"), Ok(()));
        assert_eq!(check_action("s3:*"), Ok(()));
        assert_eq!(check_action("iam: asdf safdsf af "), Ok(()));
        assert_eq!(check_action("s3-s.x:List"), Ok(()));
        assert_eq!(
            check_action("invalid"),
            Err(PolicyError::ActionWithoutVendor)
        );
        assert_eq!(check_action(""), Err(PolicyError::ActionWithoutVendor));
        assert_eq!(check_action("**"), Err(PolicyError::ActionWithoutVendor));
        assert_eq!(
            check_action("s3:List:Bucket"),
            Err(PolicyError::ActionTooManyColons)
        );
        assert_eq!(
            check_action("*:Untag*"),
            Err(PolicyError::ActionVendorWildcard)
        );
        assert_eq!(
            check_action("a a:ListBucket"),
            Err(PolicyError::InvalidVendor("a a".into()))
        );
    }

    #[test]
    fn trust_actions() {
        for ok in [
            "sts:AssumeRole",
            "STS:assumerole",
            "sts:AssumeRoleWithWebIdentity",
            "sts:TagSession",
            "sts:*",
            "sts:Assume*",
            "sts:AssumeRol?",
        ] {
            assert!(is_trust_policy_action(ok), "{ok}");
        }
        for bad in [
            "*",
            "s3:GetObject",
            "sts:TagSessions",
            "sts:GetCallerIdentity",
            "*:*",
        ] {
            assert!(!is_trust_policy_action(bad), "{bad}");
        }
    }
}
