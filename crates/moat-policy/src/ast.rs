//! The parsed form of a policy document, shaped for evaluation: every pattern is compiled, every
//! operator resolved, and nothing refers back to the JSON text.

use std::fmt;

use crate::action::ActionPattern;
use crate::condition::Condition;
use crate::principal::PrincipalBlock;
use crate::resource::ResourcePattern;

/// A validated policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The effective version: `2008-10-17` when the document has no `Version`, as in IAM.
    pub version: PolicyVersion,
    pub id: Option<String>,
    /// In document order; a lone statement object becomes a list of one.
    pub statements: Vec<Statement>,
}

/// The policy language version, which decides whether `${...}` is a policy variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyVersion {
    /// `2008-10-17`, also the default when `Version` is absent: no policy variables.
    V2008_10_17,
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
}

impl PolicyVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V2008_10_17 => "2008-10-17",
            PolicyVersion::V2012_10_17 => "2012-10-17",
        }
    }

    pub fn from_str_exact(s: &str) -> Option<Self> {
        match s {
            "2008-10-17" => Some(PolicyVersion::V2008_10_17),
            "2012-10-17" => Some(PolicyVersion::V2012_10_17),
            _ => None,
        }
    }

    /// Whether `${...}` in resources and condition values is a policy variable.
    pub fn has_policy_variables(self) -> bool {
        self == PolicyVersion::V2012_10_17
    }
}

impl fmt::Display for PolicyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// `Principal` or `NotPrincipal`; present only in resource-based and trust policies.
    pub principal: Option<PrincipalBlock>,
    pub action: ActionBlock,
    /// `Resource` or `NotResource`; absent in trust policies and optional in some
    /// resource-based policies.
    pub resource: Option<ResourceBlock>,
    /// All must hold for the statement to apply.
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// `Action` or `NotAction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionBlock {
    Action(Vec<ActionPattern>),
    /// Every action except those listed.
    NotAction(Vec<ActionPattern>),
}

impl ActionBlock {
    /// True when the statement applies to `action` (`service:ActionName`).
    pub fn applies_to(&self, action: &str) -> bool {
        match self {
            ActionBlock::Action(patterns) => patterns.iter().any(|p| p.matches(action)),
            ActionBlock::NotAction(patterns) => !patterns.iter().any(|p| p.matches(action)),
        }
    }

    pub fn patterns(&self) -> &[ActionPattern] {
        match self {
            ActionBlock::Action(p) | ActionBlock::NotAction(p) => p,
        }
    }
}

/// `Resource` or `NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceBlock {
    Resource(Vec<ResourcePattern>),
    /// Every resource except those listed.
    NotResource(Vec<ResourcePattern>),
}

impl ResourceBlock {
    /// True when the statement applies to the resource `arn`, resolving policy variables with
    /// `resolve` (given a context key, its single value).
    pub fn applies_to<'v>(
        &self,
        arn: &str,
        mut resolve: impl FnMut(&str) -> Option<&'v str>,
    ) -> bool {
        let mut any = |patterns: &[ResourcePattern]| {
            patterns.iter().any(|p| p.matches_with(arn, &mut resolve))
        };
        match self {
            ResourceBlock::Resource(patterns) => any(patterns),
            ResourceBlock::NotResource(patterns) => !any(patterns),
        }
    }

    pub fn patterns(&self) -> &[ResourcePattern] {
        match self {
            ResourceBlock::Resource(p) | ResourceBlock::NotResource(p) => p,
        }
    }
}
