//! `Resource`/`NotResource` patterns and IAM's checks on resource strings.
//!
//! The checks reproduce IAM's observable behaviour as moto has catalogued it, quirks included:
//! the first field need not be `arn`, an unknown partition is reported with the ARN padded to
//! six fields, and a separate "legacy" parser rejects some ARNs with `::` in odd places.

use std::fmt;

use crate::error::PolicyError;
use crate::template::Template;

/// One entry of a `Resource` or `NotResource` list: `*` or an ARN pattern with wildcards and,
/// in 2012-10-17 policies, policy variables. Matched case-sensitively.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResourcePattern {
    template: Template,
}

impl ResourcePattern {
    pub fn new(pattern: &str, variables: bool) -> Self {
        ResourcePattern {
            template: Template::parse(pattern, variables),
        }
    }

    /// Wildcard match against an ARN. A pattern with policy variables only matches through
    /// [`ResourcePattern::matches_with`].
    pub fn matches(&self, arn: &str) -> bool {
        self.template.matches(arn)
    }

    /// Wildcard match with policy variables resolved by `resolve` (see
    /// [`Template::matches_with`]).
    pub fn matches_with<'v>(
        &self,
        arn: &str,
        resolve: impl FnMut(&str) -> Option<&'v str>,
    ) -> bool {
        self.template.matches_with(arn, resolve)
    }

    pub fn matches_everything(&self) -> bool {
        self.template.matches_everything()
    }

    pub fn template(&self) -> &Template {
        &self.template
    }
}

impl fmt::Debug for ResourcePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResourcePattern")
            .field(&self.template.to_string())
            .finish()
    }
}

impl fmt::Display for ResourcePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.template, f)
    }
}

/// The partitions IAM accepts in a resource ARN (`*` is accepted too).
pub(crate) const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

const IAM_RESOURCE_PREFIXES: &[&str] = &[
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
];

/// IAM's format check on one resource string.
pub(crate) fn check_format(resource: &str) -> Result<(), PolicyError> {
    if resource == "*" {
        return Ok(());
    }
    let Some((_, rest)) = resource.split_once(':') else {
        return Err(PolicyError::ResourceNotArn(resource.to_owned()));
    };
    let (partition, after_partition) = match rest.split_once(':') {
        Some((p, a)) => (p, Some(a)),
        None => (rest, None),
    };
    if partition != "*" && !PARTITIONS.contains(&partition) {
        let fields: Vec<&str> = after_partition.unwrap_or_default().split(':').collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or("*");
        // IAM pads a short ARN with `*`, but only when the field is missing, not when empty.
        let service = match fields.as_slice() {
            [""] => "*",
            _ => field(0),
        };
        let resource_part = if fields.len() > 3 {
            fields.get(3..).map(|f| f.join(":")).unwrap_or_default()
        } else {
            "*".to_owned()
        };
        return Err(PolicyError::InvalidPartition {
            partition: partition.to_owned(),
            arn: format!(
                "arn:{partition}:{service}:{}:{}:{resource_part}",
                field(1),
                field(2)
            ),
        });
    }
    let Some(after_partition) = after_partition else {
        return Err(PolicyError::ResourceVendorNotQualified);
    };
    let (service, after_service) = after_partition
        .split_once(':')
        .unwrap_or((after_partition, ""));
    let after_region = after_service
        .split_once(':')
        .map(|(_, a)| a)
        .unwrap_or_default();
    let resource_id = after_region
        .split_once(':')
        .map(|(_, id)| id)
        .unwrap_or_default();
    // IAM looks at whether anything other than `:` follows the service, so a bare
    // `arn:aws:iam` counts as having a region.
    let has_region = !after_service.starts_with(':');
    match service {
        "iam" => {
            if has_region {
                return Err(PolicyError::IamResourceWithRegion(resource.to_owned()));
            }
            if resource_id != "*"
                && !IAM_RESOURCE_PREFIXES
                    .iter()
                    .any(|p| resource_id.starts_with(p))
            {
                return Err(PolicyError::IamResourcePath);
            }
        }
        "s3" if has_region && !resource_id.starts_with("accesspoint/") => {
            return Err(PolicyError::S3ResourceWithRegion(resource.to_owned()));
        }
        _ => {}
    }
    Ok(())
}

/// IAM's legacy parser on one resource string: `true` when it accepts it.
pub(crate) fn passes_legacy_parse(resource: &str) -> bool {
    if resource == "*" {
        return true;
    }
    let colons = resource.matches(':').count();
    if colons < 5 && resource.contains("::") {
        return false;
    }
    resource.split(':').nth(2).is_some_and(|f| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition_error(p: &str, arn: &str) -> Result<(), PolicyError> {
        Err(PolicyError::InvalidPartition {
            partition: p.into(),
            arn: arn.into(),
        })
    }

    #[test]
    fn formats() {
        for ok in [
            "*",
            "arn:aws:s3:::example_bucket",
            "arn:aws:fdsasf",
            "arn:aws:s33:::example_bucket",
            "arn:aws:iam:::user/example_bucket",
            "arn:aws:iam::123456789012:*",
            "arn:aws:iam::aws:policy/*",
            "arn:aws:invalid-service:us-east-1::example_bucket",
            "arn:aws:s3:us-west-2:123456789012:accesspoint/my-access-point",
            "arn:*:s3:::b",
            "arn:aws-cn:ec2:*:*:instance/*",
        ] {
            assert_eq!(check_format(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_format("invalid resource"),
            Err(PolicyError::ResourceNotArn("invalid resource".into()))
        );
        assert_eq!(
            check_format(""),
            Err(PolicyError::ResourceNotArn("".into()))
        );
        assert_eq!(
            check_format("a:bsdfdsafsad"),
            partition_error("bsdfdsafsad", "arn:bsdfdsafsad:*:*:*:*")
        );
        assert_eq!(
            check_format("a:b:cadfsdf"),
            partition_error("b", "arn:b:cadfsdf:*:*:*")
        );
        assert_eq!(
            check_format("a:b:c:d:e:f:g:h"),
            partition_error("b", "arn:b:c:d:e:f:g:h")
        );
        assert_eq!(
            check_format("aws:s3:::example_bucket"),
            partition_error("s3", "arn:s3:::example_bucket:*")
        );
        assert_eq!(
            check_format("arn:error:s3:::example_bucket"),
            partition_error("error", "arn:error:s3:::example_bucket")
        );
        assert_eq!(
            check_format("arn:aws"),
            Err(PolicyError::ResourceVendorNotQualified)
        );
        assert_eq!(
            check_format("arn:aws:iam:::example_bucket"),
            Err(PolicyError::IamResourcePath)
        );
        assert_eq!(
            check_format("arn:aws:iam:us-east-1::example_bucket"),
            Err(PolicyError::IamResourceWithRegion(
                "arn:aws:iam:us-east-1::example_bucket".into()
            ))
        );
        assert_eq!(
            check_format("arn:aws:s3:us-east-1::example_bucket"),
            Err(PolicyError::S3ResourceWithRegion(
                "arn:aws:s3:us-east-1::example_bucket".into()
            ))
        );
    }

    #[test]
    fn legacy() {
        assert!(passes_legacy_parse("*"));
        assert!(passes_legacy_parse("arn:aws:s3:::b"));
        assert!(passes_legacy_parse("arn:aws:fdsasf"));
        assert!(!passes_legacy_parse("arn:aws:s3::example_bucket"));
        assert!(!passes_legacy_parse("arn:aws::fdsasf"));
        assert!(!passes_legacy_parse("arn:aws::::example_bucket"));
        assert!(!passes_legacy_parse("arn:aws"));
    }
}
