//! The IAM policy language: parsing and validation of policy documents, with the errors IAM
//! gives for malformed ones, and authorization decisions following AWS's documented evaluation
//! logic.
//!
//! Pure: no I/O, no async, no regular expressions. Wildcards are compiled to
//! [`WildcardPattern`]s and policy variables to [`Template`]s when the document is parsed; a
//! [`PolicySet`] then reads every condition value as its operator's type (numbers, dates, IP
//! ranges, base64) and indexes statements by service, so a decision only walks compiled
//! structures, looks only at statements that can match the action, and allocates little.
//!
//! The document text itself is not kept: IAM hands documents back exactly as submitted, and
//! that is the caller's to store.
//!
//! ```
//! use moat_policy::{parse, PolicyKind};
//!
//! let policy = parse(
//!     r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}"#,
//!     PolicyKind::Identity,
//! )?;
//! let statement = policy.statements.first().expect("one statement");
//! assert!(statement.action.applies_to("s3:GetObject"));
//!
//! let error = parse(r#"{"Version":"2012-10-17","Statement":[]}"#, PolicyKind::Identity);
//! assert_eq!(error.unwrap_err().to_string(), "Syntax errors in policy.");
//! # Ok::<(), moat_policy::PolicyError>(())
//! ```
//!
//! Deciding a request: compile the principal's policies once, then evaluate requests against
//! them together with whatever other policies apply (permissions boundary, session policies,
//! SCPs, the resource's policy).
//!
//! ```
//! use moat_policy::{evaluate, parse, ContextKeys, Inputs, PolicyKind, PolicySet, Request, RequestPrincipal};
//!
//! let read_only = parse(
//!     r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}}"#,
//!     PolicyKind::Identity,
//! )?;
//! let policies = PolicySet::new([("arn:aws:iam::aws:policy/IAMReadOnlyAccess", &read_only)]);
//!
//! let bob = RequestPrincipal::user("arn:aws:iam::123456789012:user/bob");
//! let mut keys = ContextKeys::new().with("aws:SecureTransport", true);
//! keys.add_principal_keys(&bob);
//! let request = Request::new(&bob, "iam:CreateUser", "arn:aws:iam::123456789012:user/alice", &keys);
//!
//! let decision = evaluate(&Inputs::new(&policies), &request);
//! assert!(!decision.is_allowed());
//! assert_eq!(
//!     decision.access_denied_message(bob.arn(), request.action, request.resource).as_deref(),
//!     Some("User: arn:aws:iam::123456789012:user/bob is not authorized to perform: \
//!           iam:CreateUser on resource: arn:aws:iam::123456789012:user/alice because no \
//!           identity-based policy allows the iam:CreateUser action"),
//! );
//! # Ok::<(), moat_policy::PolicyError>(())
//! ```

mod action;
mod ast;
mod compile;
mod condition;
mod context;
mod error;
mod evaluate;
mod json;
mod parse;
mod positions;
mod principal;
mod resource;
mod template;
mod values;
mod wildcard;

pub use action::ActionPattern;
pub use ast::{ActionBlock, Effect, Policy, PolicyVersion, ResourceBlock, Statement};
pub use compile::{context_keys, PolicySet};
pub use condition::{Condition, ConditionOperator, ConditionValue, SetQualifier};
pub use context::{ContextKeys, ContextValue, PrincipalKind, Request, RequestPrincipal};
pub use error::PolicyError;
pub use evaluate::{
    evaluate, evaluate_each, Decision, Inputs, MatchedStatement, Outcome, PolicyType,
    ResourcePolicy, ResourcePolicyKind, TypeResults,
};
pub use positions::{statement_positions, Position};
pub use principal::{AwsPrincipal, NamedPrincipals, PrincipalBlock, Principals};
pub use resource::ResourcePattern;
pub use template::{PolicyVariable, Template, TemplatePart};
pub use wildcard::{CaseSensitivity, WildcardPattern};

/// Where a policy document is used, which decides the rules it must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Managed and inline policies of IAM users, groups and roles, and permissions boundaries:
    /// version 2012-10-17, no principal, resources required, alphanumeric `Sid`s.
    Identity,
    /// A role's assume-role policy: principal required, no resources, only STS role-assumption
    /// actions.
    Trust,
    /// A resource-based policy held by another service (bucket, key, queue...): principal
    /// required, resources optional. Services word some errors differently; this uses the
    /// wording of IAM where it has one and of Amazon S3 otherwise.
    Resource,
    /// An Organizations service control policy: like an identity policy, without the version
    /// and `Sid` rules, which Organizations does not apply the same way. Organizations reports
    /// every failure with its own generic message, which the caller substitutes.
    ServiceControl,
    /// A session policy passed to `AssumeRole*` or `GetFederationToken`: like an identity
    /// policy, without the version and `Sid` rules.
    Session,
}

impl PolicyKind {
    fn allows_principals(self) -> bool {
        matches!(self, PolicyKind::Trust | PolicyKind::Resource)
    }

    fn requires_principals(self) -> bool {
        self.allows_principals()
    }

    fn requires_resources(self) -> bool {
        matches!(
            self,
            PolicyKind::Identity | PolicyKind::ServiceControl | PolicyKind::Session
        )
    }

    fn requires_alphanumeric_sids(self) -> bool {
        matches!(self, PolicyKind::Identity | PolicyKind::Trust)
    }
}

/// Parses and validates a policy document for use as `kind`.
///
/// Never panics, whatever the input. On failure the error's `Display` is the message IAM
/// returns with `MalformedPolicyDocument`.
pub fn parse(document: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    parse::parse(document, kind)
}

/// The length IAM's policy size quotas measure: characters other than whitespace.
///
/// IAM is a Java service, so this counts as Java does: UTF-16 code units, skipping what
/// `Character.isWhitespace` calls whitespace (which, unlike Unicode's definition, leaves out
/// no-break spaces and includes the ASCII information separators).
pub fn non_whitespace_len(document: &str) -> usize {
    document
        .chars()
        .filter(|&c| !is_java_whitespace(c))
        .map(char::len_utf16)
        .sum()
}

fn is_java_whitespace(c: char) -> bool {
    match c {
        '\u{9}'..='\u{d}' | '\u{1c}'..='\u{1f}' => true,
        '\u{85}' | '\u{a0}' | '\u{2007}' | '\u{202f}' => false,
        _ => c.is_whitespace(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_ignores_whitespace() {
        assert_eq!(non_whitespace_len(""), 0);
        assert_eq!(non_whitespace_len(" {\n\t\"a\" : 1 }\r\n"), 7);
        assert_eq!(non_whitespace_len("a\u{a0}b"), 3);
        assert_eq!(non_whitespace_len("a\u{3000}b\u{1f}"), 2);
        assert_eq!(non_whitespace_len("😀"), 2);
        assert_eq!(non_whitespace_len("é"), 1);
    }
}
