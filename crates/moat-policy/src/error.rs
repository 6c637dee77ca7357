//! Why a policy document was rejected.
//!
//! Unlike the rest of Moat's errors, these messages are not ours to style: IAM returns them
//! verbatim as the `Message` of a `MalformedPolicyDocument` error, and clients, tests and
//! infrastructure tools match on that text. Each variant's `Display` is the message AWS sends,
//! as far as it could be established; the comment on each says where it comes from.

/// A policy document that IAM would refuse with `MalformedPolicyDocument`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Not JSON, or JSON of the wrong shape: unknown or missing elements, wrong value types,
    /// an empty `Statement`, an `Effect` other than allow/deny, both `Action` and `NotAction`.
    /// (AWS IAM API; moto's test suite.)
    #[error("Syntax errors in policy.")]
    Syntax,

    /// An identity policy whose `Version` is missing or `2008-10-17`. (moto's test suite.)
    #[error("Policy document must be version 2012-10-17 or greater.")]
    VersionTooOld,

    /// IAM's older parser rejected the document: `Effect` not capitalised exactly, a
    /// malformed date in a `Date...` condition, or a resource with a misplaced `::`.
    /// (AWS IAM API; the rules follow moto.)
    #[error("The policy failed legacy parsing")]
    LegacyParsing,

    /// An identity, session or service control policy with `Principal` or `NotPrincipal`.
    /// (AWS IAM API, as reported in terraform-provider-aws issues.)
    #[error("Policy document should not specify a principal.")]
    PrincipalNotAllowed,

    /// A `Sid` with characters outside `[0-9A-Za-z]` in an IAM-stored policy. (AWS IAM API, as
    /// reported in cfn-lint issues.)
    #[error(
        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular \
         expression [0-9A-Za-z]*"
    )]
    SidNotAlphanumeric,

    /// Two statements with the same non-empty `Sid`. (moto.)
    #[error("Statement IDs (SID) in a single policy must be unique.")]
    DuplicateSid,

    /// A statement without `Action`/`NotAction`, or with an empty list. (AWS IAM API; moto.)
    #[error("Policy statement must contain actions.")]
    MissingActions,

    /// An identity-style policy statement without `Resource`/`NotResource`. (AWS IAM API; moto.)
    #[error("Policy statement must contain resources.")]
    MissingResources,

    /// A resource that has no `:` at all. (AWS IAM API; moto.)
    #[error("Resource {0} must be in ARN format or \"*\".")]
    ResourceNotArn(String),

    /// A resource whose second field is not a known partition; the ARN is shown padded to six
    /// fields with `*`. (AWS IAM API; moto reproduces the padding.)
    #[error("Partition \"{partition}\" is not valid for resource \"{arn}\".")]
    InvalidPartition { partition: String, arn: String },

    /// A resource with a partition but nothing after it. (moto.)
    #[error("Resource vendor must be fully qualified and cannot contain regexes.")]
    ResourceVendorNotQualified,

    /// An IAM ARN with a region. (AWS IAM API; moto.)
    #[error("IAM resource {0} cannot contain region information.")]
    IamResourceWithRegion(String),

    /// An S3 ARN with a region (other than an access point). (moto.)
    #[error("Resource {0} can not contain region information.")]
    S3ResourceWithRegion(String),

    /// An IAM ARN whose resource part names no IAM resource type. (moto.)
    #[error(
        "IAM resource path must either be \"*\" or start with user/, federated-user/, role/, \
         group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, \
         saml-provider/, oidc-provider/, report/, access-report/."
    )]
    IamResourcePath,

    /// An action without a `service:` prefix (and not `*`). (AWS IAM API; moto.)
    #[error("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")]
    ActionWithoutVendor,

    /// An action with more than one `:`. (AWS IAM API, as reported in issues; moto.)
    #[error("Actions/Condition can contain only one colon.")]
    ActionTooManyColons,

    /// An action whose service prefix holds a wildcard (`*:Get*`). (AWS IAM API, as reported in
    /// iam-policy-validator's changelog.)
    #[error("Action vendors (e.g., aws, ec2, etc.) must not contain wildcards")]
    ActionVendorWildcard,

    /// An action whose service prefix has characters other than letters, digits, `-` and `.`.
    /// (moto.)
    #[error("Vendor {0} is not valid")]
    InvalidVendor(String),

    /// A role trust policy with `Resource`. (AWS IAM API, CreateRole, as reported in issues.)
    #[error("Has prohibited field Resource")]
    TrustPolicyResource,

    /// A role trust policy with `NotResource`. (versitygw's IAM emulator; not confirmed
    /// against AWS.)
    #[error("AssumeRole policy must not contain resources.")]
    TrustPolicyNotResource,

    /// A role trust policy statement without a principal. (AWS IAM API, CreateRole, as reported
    /// in terraform-aws-iam and cloudposse issues; the Java class name is part of the message.)
    #[error(
        "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed \
         in policy has a statement with no principals!"
    )]
    TrustPolicyMissingPrincipal,

    /// A resource-based policy statement without a principal. (Amazon S3 PutBucketPolicy, as
    /// reported in issues.)
    #[error("Missing required field Principal")]
    MissingPrincipal,

    /// A role trust policy action outside STS's role-assumption actions. (AWS IAM API,
    /// CreateRole, as reported in terraform-provider-aws issue 32872.)
    #[error("AssumeRole policy may only specify STS AssumeRole actions.")]
    TrustPolicyAction,

    /// `NotPrincipal` with `"Effect": "Allow"`, which AWS documents as unsupported.
    /// (versitygw's IAM emulator; not confirmed against AWS.)
    #[error("Allow with NotPrincipal is not allowed.")]
    AllowWithNotPrincipal,

    /// A principal value that is not valid for its type. `kind` is the type as IAM spells it
    /// in this message (`AWS`, `SERVICE`, `CANONICAL_USER`). (AWS IAM API, as reported in
    /// issues, for `AWS` and `SERVICE`; `CANONICAL_USER` is a guess by analogy.)
    #[error("Invalid principal in policy: \"{kind}\":\"{value}\"")]
    InvalidPrincipal { kind: &'static str, value: String },

    /// A `Federated` principal that is neither a domain name nor a SAML/OIDC provider ARN.
    /// (AWS IAM API, as reported in terraform-aws-eks issues.)
    #[error("Federated principals must be valid domain names or SAML metadata ARNs")]
    InvalidFederatedPrincipal,
}

impl PolicyError {
    /// The AWS error code under which IAM reports every one of these.
    pub fn code(&self) -> &'static str {
        "MalformedPolicyDocument"
    }
}
