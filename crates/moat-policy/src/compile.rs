//! Policies compiled for evaluation: a [`PolicySet`] holds the statements of one policy type
//! for one principal (or resource), with every condition value already read as its operator's
//! type and the statements indexed by the service prefixes of their actions.

use crate::ast::{ActionBlock, Effect, Policy, ResourceBlock, Statement};
use crate::condition::{Condition, ConditionOperator, ConditionValue, SetQualifier};
use crate::context::{cmp_ignore_ascii_case, key_hash};
use crate::principal::{AwsPrincipal, PrincipalBlock, Principals};
use crate::template::{Template, TemplatePart};
use crate::values::{decode_base64, parse_bool, parse_date, Cidr, Instant, Number};
use crate::wildcard::{CaseSensitivity, WildcardPattern};

/// The compiled statements of a group of policies of one type: a principal's identity-based
/// policies (user inline and managed, group inline and managed, or a role's), a permissions
/// boundary, session policies, one level of service control policies, or a resource's policy.
///
/// Compile once and keep it for as long as the policies do not change: a decision only reads
/// it. A decision looks only at the statements whose actions can match the request's service,
/// so the cost of a decision does not grow with the number of statements for other services.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// The caller's name for each policy (its ARN, or `user/alice/inline-name`), used in
    /// explanations.
    policies: Vec<Box<str>>,
    statements: Vec<CompiledStatement>,
    /// Statements whose actions all name a service, by lowercased service prefix, sorted.
    by_service: Vec<(Box<str>, Box<[u32]>)>,
    /// Statements with `Action: "*"` or `NotAction`, which may match any service.
    any_service: Vec<u32>,
}

impl PolicySet {
    /// A set with no policies.
    pub const fn empty() -> Self {
        PolicySet {
            policies: Vec::new(),
            statements: Vec::new(),
            by_service: Vec::new(),
            any_service: Vec::new(),
        }
    }

    /// Compiles `policies`, each with the name explanations will use for it.
    pub fn new<'p, S: Into<String>>(policies: impl IntoIterator<Item = (S, &'p Policy)>) -> Self {
        let mut set = PolicySet::empty();
        for (id, policy) in policies {
            let policy_index = u32::try_from(set.policies.len()).unwrap_or(u32::MAX);
            set.policies.push(id.into().into_boxed_str());
            for (i, statement) in policy.statements.iter().enumerate() {
                let index = u32::try_from(i).unwrap_or(u32::MAX);
                set.statements
                    .push(CompiledStatement::new(statement, policy_index, index));
            }
        }
        set.build_index();
        set
    }

    fn build_index(&mut self) {
        let mut any = Vec::new();
        let mut by_service: Vec<(Box<str>, Vec<u32>)> = Vec::new();
        for (i, st) in self.statements.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            let Some(services) = st.services() else {
                any.push(i);
                continue;
            };
            for service in services {
                match by_service.binary_search_by(|(s, _)| s.as_ref().cmp(service.as_str())) {
                    Ok(pos) => {
                        if let Some((_, list)) = by_service.get_mut(pos) {
                            if list.last() != Some(&i) {
                                list.push(i);
                            }
                        }
                    }
                    Err(pos) => by_service.insert(pos, (service.into_boxed_str(), vec![i])),
                }
            }
        }
        self.any_service = any;
        self.by_service = by_service
            .into_iter()
            .map(|(s, l)| (s, l.into_boxed_slice()))
            .collect();
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The names of the policies in the set, in the order they were given.
    pub fn policy_ids(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().map(|p| &**p)
    }

    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    pub(crate) fn policy_id(&self, index: u32) -> &str {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.policies.get(i))
            .map_or("", |p| p)
    }

    /// The statements that may apply to an action of `service`, in set order.
    pub(crate) fn candidates<'s>(
        &'s self,
        service: &str,
    ) -> impl Iterator<Item = &'s CompiledStatement> + 's {
        let bucket: &[u32] = self
            .by_service
            .binary_search_by(|(s, _)| cmp_ignore_ascii_case(s, service))
            .ok()
            .and_then(|i| self.by_service.get(i))
            .map_or(&[], |(_, list)| list);
        Merge {
            a: bucket,
            b: &self.any_service,
        }
        .filter_map(|i| usize::try_from(i).ok().and_then(|i| self.statements.get(i)))
    }

    /// The context keys the set's statements refer to, in conditions or as policy variables,
    /// once each (ignoring case), in the order they first appear.
    pub fn context_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for st in &self.statements {
            for key in st.context_keys() {
                if !keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                    keys.push(key);
                }
            }
        }
        keys
    }
}

/// The context keys `policies` refer to, in conditions or as policy variables (in resources
/// and condition values), once each ignoring case, in the order they first appear: what
/// `GetContextKeysForCustomPolicy` and `GetContextKeysForPrincipalPolicy` report.
pub fn context_keys<'p>(policies: impl IntoIterator<Item = &'p Policy>) -> Vec<&'p str> {
    let mut keys: Vec<&str> = Vec::new();
    let mut add = |key: &'p str| {
        if !keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            keys.push(key);
        }
    };
    for st in policies.into_iter().flat_map(|p| &p.statements) {
        for pattern in st.resource.iter().flat_map(|r| r.patterns()) {
            pattern.template().variables().for_each(|v| add(&v.key));
        }
        for c in &st.conditions {
            add(&c.key);
            for v in &c.values {
                if let ConditionValue::String(t) = v {
                    t.variables().for_each(|v| add(&v.key));
                }
            }
        }
    }
    keys
}

/// Merges two ascending index lists, without repeats.
struct Merge<'s> {
    a: &'s [u32],
    b: &'s [u32],
}

impl Iterator for Merge<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match (self.a.split_first(), self.b.split_first()) {
            (Some((&x, ra)), Some((&y, rb))) => {
                if x <= y {
                    self.a = ra;
                    if x == y {
                        self.b = rb;
                    }
                    Some(x)
                } else {
                    self.b = rb;
                    Some(y)
                }
            }
            (Some((&x, ra)), None) => {
                self.a = ra;
                Some(x)
            }
            (None, Some((&y, rb))) => {
                self.b = rb;
                Some(y)
            }
            (None, None) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledStatement {
    pub(crate) effect: Effect,
    pub(crate) policy: u32,
    pub(crate) index: u32,
    pub(crate) sid: Option<Box<str>>,
    pub(crate) action: CompiledActions,
    pub(crate) resource: Option<CompiledResource>,
    pub(crate) principal: Option<CompiledPrincipal>,
    pub(crate) conditions: Box<[CompiledCondition]>,
}

impl CompiledStatement {
    fn new(st: &Statement, policy: u32, index: u32) -> Self {
        CompiledStatement {
            effect: st.effect,
            policy,
            index,
            sid: st.sid.as_deref().map(Into::into),
            action: CompiledActions::new(&st.action),
            resource: st.resource.as_ref().map(|block| CompiledResource {
                has_variables: block
                    .patterns()
                    .iter()
                    .any(|p| p.template().has_variables()),
                block: block.clone(),
            }),
            principal: st.principal.as_ref().map(CompiledPrincipal::new),
            conditions: st.conditions.iter().map(CompiledCondition::new).collect(),
        }
    }

    /// The lowercased service prefixes of an `Action` list, or `None` when the statement can
    /// match actions of any service (`*`, `NotAction`).
    fn services(&self) -> Option<Vec<String>> {
        let ActionBlock::Action(patterns) = &self.action.block else {
            return None;
        };
        let mut services = Vec::with_capacity(patterns.len());
        for p in patterns {
            let text = p.to_string();
            let (service, _) = text.split_once(':')?;
            if service.contains(['*', '?']) {
                return None;
            }
            let service = service.to_ascii_lowercase();
            if !services.contains(&service) {
                services.push(service);
            }
        }
        Some(services)
    }

    fn context_keys(&self) -> impl Iterator<Item = &str> {
        let resource_vars = self
            .resource
            .iter()
            .flat_map(|r| r.block.patterns())
            .flat_map(|p| p.template().variables())
            .map(|v| v.key.as_str());
        let condition_keys = self
            .conditions
            .iter()
            .flat_map(|c| std::iter::once(&*c.key).chain(c.variable_keys()));
        resource_vars.chain(condition_keys)
    }
}

/// `Action` or `NotAction`, with the patterns also kept in lower case and grouped by service:
/// action names compare without regard to case, so lowering the request's action once lets
/// every pattern compare bytes, and a statement listing hundreds of actions (as AWS managed
/// policies do) is only searched among those of the request's service.
#[derive(Debug, Clone)]
pub(crate) struct CompiledActions {
    pub(crate) block: ActionBlock,
    /// `None` when a pattern is not ASCII, where lowering is not a faithful case fold.
    lowered: Option<LoweredActions>,
}

#[derive(Debug, Clone)]
enum LoweredActions {
    /// A short list, scanned whole.
    Flat(Box<[WildcardPattern]>),
    /// A long list, by service.
    Grouped {
        /// Patterns by their lowercased service prefix, sorted by it.
        by_service: Box<[ServicePatterns]>,
        /// Patterns without a service prefix (`*`).
        other: Box<[WildcardPattern]>,
    },
}

/// Lists longer than this are searched by service; shorter ones are quicker to scan.
const GROUP_ABOVE: usize = 8;

impl CompiledActions {
    fn new(block: &ActionBlock) -> Self {
        CompiledActions {
            block: block.clone(),
            lowered: LoweredActions::new(block),
        }
    }

    /// Whether the statement covers `action`; `lowered` is the action in ASCII lower case,
    /// when it is ASCII.
    pub(crate) fn applies_to(&self, action: &str, lowered: Option<&str>) -> bool {
        let (Some(patterns), Some(lowered)) = (&self.lowered, lowered) else {
            return self.block.applies_to(action);
        };
        let listed = patterns.lists(lowered);
        match self.block {
            ActionBlock::Action(_) => listed,
            ActionBlock::NotAction(_) => !listed,
        }
    }
}

/// The patterns of one service.
type ServicePatterns = (Box<str>, Box<[WildcardPattern]>);

impl LoweredActions {
    fn new(block: &ActionBlock) -> Option<Self> {
        let mut lowered = Vec::with_capacity(block.patterns().len());
        for p in block.patterns() {
            let text = p.to_string();
            if !text.is_ascii() {
                return None;
            }
            lowered.push(text.to_ascii_lowercase());
        }
        let compile = |text: &str| WildcardPattern::new(text, CaseSensitivity::Sensitive);
        if lowered.len() <= GROUP_ABOVE {
            return Some(LoweredActions::Flat(
                lowered.iter().map(|t| compile(t)).collect(),
            ));
        }
        let mut by_service: Vec<(Box<str>, Vec<WildcardPattern>)> = Vec::new();
        let mut other = Vec::new();
        for text in &lowered {
            match text.split_once(':') {
                Some((service, _)) if !service.contains(['*', '?']) => {
                    match by_service.binary_search_by(|(s, _)| s.as_ref().cmp(service)) {
                        Ok(i) => {
                            if let Some((_, list)) = by_service.get_mut(i) {
                                list.push(compile(text));
                            }
                        }
                        Err(i) => by_service.insert(i, (service.into(), vec![compile(text)])),
                    }
                }
                _ => other.push(compile(text)),
            }
        }
        Some(LoweredActions::Grouped {
            by_service: by_service
                .into_iter()
                .map(|(s, list)| (s, list.into_boxed_slice()))
                .collect(),
            other: other.into_boxed_slice(),
        })
    }

    /// Whether a pattern covers the lowercased `action`.
    fn lists(&self, action: &str) -> bool {
        let (by_service, other) = match self {
            LoweredActions::Flat(patterns) => return patterns.iter().any(|p| p.matches(action)),
            LoweredActions::Grouped { by_service, other } => (by_service, other),
        };
        let service = action.split_once(':').map_or(action, |(s, _)| s);
        let same_service: &[WildcardPattern] = by_service
            .binary_search_by(|(s, _)| s.as_ref().cmp(service))
            .ok()
            .and_then(|i| by_service.get(i))
            .map_or(&[], |(_, list)| list);
        same_service
            .iter()
            .chain(other.iter())
            .any(|p| p.matches(action))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledResource {
    pub(crate) block: ResourceBlock,
    /// Whether any pattern has a policy variable, which must then resolve for the statement to
    /// count at all.
    pub(crate) has_variables: bool,
}

/// A `Principal` or `NotPrincipal` element, arranged for lookup.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompiledPrincipal {
    pub(crate) negated: bool,
    /// `*`, or `{"AWS": "*"}`, which AWS documents as equivalent.
    pub(crate) everyone: bool,
    /// Accounts named by id or by root ARN.
    pub(crate) accounts: Box<[Box<str>]>,
    /// User, role, role session and federated user ARNs.
    pub(crate) arns: Box<[Box<str>]>,
    pub(crate) services: Box<[Box<str>]>,
    pub(crate) federated: Box<[Box<str>]>,
    /// S3 canonical user ids, each standing for an account.
    pub(crate) canonical_users: Box<[Box<str>]>,
}

impl CompiledPrincipal {
    fn new(block: &PrincipalBlock) -> Self {
        let negated = matches!(block, PrincipalBlock::NotPrincipal(_));
        let named = match block.principals() {
            Principals::Everyone => {
                return CompiledPrincipal {
                    negated,
                    everyone: true,
                    ..Default::default()
                }
            }
            Principals::Named(named) => named,
        };
        let mut accounts = Vec::new();
        let mut arns = Vec::new();
        let mut everyone = false;
        for p in &named.aws {
            match p {
                AwsPrincipal::Everyone => everyone = true,
                AwsPrincipal::Account(id) => accounts.push(id.as_str().into()),
                AwsPrincipal::Arn(arn) => match root_arn_account(arn) {
                    Some(id) => accounts.push(id.into()),
                    None => arns.push(arn.as_str().into()),
                },
            }
        }
        let boxed = |v: &[String]| v.iter().map(|s| s.as_str().into()).collect();
        CompiledPrincipal {
            negated,
            everyone,
            accounts: accounts.into_boxed_slice(),
            arns: arns.into_boxed_slice(),
            services: boxed(&named.service),
            federated: boxed(&named.federated),
            canonical_users: boxed(&named.canonical_user),
        }
    }
}

/// The account of `arn:partition:iam::123456789012:root`.
fn root_arn_account(arn: &str) -> Option<&str> {
    let mut fields = arn.splitn(6, ':');
    match (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) {
        (Some("arn"), Some(_), Some("iam"), Some(""), Some(account), Some("root")) => Some(account),
        _ => None,
    }
}

/// One condition, ready to evaluate: the positive form of its operator with typed values,
/// and whether the operator negates it.
#[derive(Debug, Clone)]
pub(crate) struct CompiledCondition {
    /// The key as written in the policy; looked up without regard to case.
    pub(crate) key: Box<str>,
    /// The key in ASCII lower case and its [`key_hash`], for the lookup.
    pub(crate) key_lower: Box<str>,
    pub(crate) key_hash: u64,
    pub(crate) test: Test,
    /// `StringNotEquals`, `NumericNotEquals`, `NotIpAddress`, `ArnNotLike`...: true when no
    /// value matches.
    pub(crate) negated: bool,
    pub(crate) if_exists: bool,
    pub(crate) set: Option<SetQualifier>,
}

/// The positive comparison behind a condition operator, with the policy's values read as the
/// operator's type. A value that could not be read is `None` and matches nothing.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    StringEquals {
        fold: bool,
        values: Box<[PlainValue]>,
    },
    StringLike(Box<[Template]>),
    Numeric(Comparison, Box<[Option<Number>]>),
    Date(Comparison, Box<[Option<Instant>]>),
    Bool(Box<[BoolValue]>),
    Binary(Box<[Option<Box<[u8]>>]>),
    Ip(Box<[Option<Cidr>]>),
    Arn(Box<[Option<ArnPattern>]>),
    Null(Box<[Option<bool>]>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Comparison {
    pub(crate) fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Comparison::Equal => ordering == Equal,
            Comparison::Less => ordering == Less,
            Comparison::LessOrEqual => ordering != Greater,
            Comparison::Greater => ordering == Greater,
            Comparison::GreaterOrEqual => ordering != Less,
        }
    }
}

/// A condition value compared as text, without wildcards.
#[derive(Debug, Clone)]
pub(crate) enum PlainValue {
    Literal(Box<str>),
    /// With policy variables, substituted per request.
    Dynamic(Box<[TemplatePart]>),
}

/// A `Bool` condition value: read at compile time, or with policy variables, per request.
#[derive(Debug, Clone)]
pub(crate) enum BoolValue {
    Fixed(Option<bool>),
    Dynamic(Box<[TemplatePart]>),
}

/// An ARN pattern split into its six colon-separated fields, each matched on its own.
#[derive(Debug, Clone)]
pub(crate) struct ArnPattern {
    pub(crate) fields: Box<[Template]>,
}

impl CompiledCondition {
    fn new(c: &Condition) -> Self {
        use ConditionOperator as Op;
        let plain = |c: &Condition| c.values.iter().map(plain_value).collect();
        let texts = || c.values.iter().map(value_text);
        let (test, negated) = match c.operator {
            Op::StringEquals | Op::StringNotEquals => (
                Test::StringEquals {
                    fold: false,
                    values: plain(c),
                },
                c.operator == Op::StringNotEquals,
            ),
            Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase => (
                Test::StringEquals {
                    fold: true,
                    values: plain(c),
                },
                c.operator == Op::StringNotEqualsIgnoreCase,
            ),
            Op::StringLike | Op::StringNotLike => (
                Test::StringLike(c.values.iter().map(wildcard_template).collect()),
                c.operator == Op::StringNotLike,
            ),
            Op::NumericEquals
            | Op::NumericNotEquals
            | Op::NumericLessThan
            | Op::NumericLessThanEquals
            | Op::NumericGreaterThan
            | Op::NumericGreaterThanEquals => (
                Test::Numeric(
                    comparison(c.operator),
                    texts()
                        .map(|t| t.as_deref().and_then(Number::parse))
                        .collect(),
                ),
                c.operator == Op::NumericNotEquals,
            ),
            Op::DateEquals
            | Op::DateNotEquals
            | Op::DateLessThan
            | Op::DateLessThanEquals
            | Op::DateGreaterThan
            | Op::DateGreaterThanEquals => (
                Test::Date(
                    comparison(c.operator),
                    texts().map(|t| t.as_deref().and_then(parse_date)).collect(),
                ),
                c.operator == Op::DateNotEquals,
            ),
            Op::Bool => (
                Test::Bool(
                    c.values
                        .iter()
                        .map(|v| match plain_value(v) {
                            PlainValue::Literal(s) => BoolValue::Fixed(parse_bool(&s)),
                            PlainValue::Dynamic(parts) => BoolValue::Dynamic(parts),
                        })
                        .collect(),
                ),
                false,
            ),
            Op::BinaryEquals => (
                Test::Binary(
                    texts()
                        .map(|t| {
                            t.as_deref()
                                .and_then(decode_base64)
                                .map(Vec::into_boxed_slice)
                        })
                        .collect(),
                ),
                false,
            ),
            Op::IpAddress | Op::NotIpAddress => (
                Test::Ip(
                    texts()
                        .map(|t| t.as_deref().and_then(Cidr::parse))
                        .collect(),
                ),
                c.operator == Op::NotIpAddress,
            ),
            Op::ArnEquals | Op::ArnLike | Op::ArnNotEquals | Op::ArnNotLike => (
                Test::Arn(
                    c.values
                        .iter()
                        .map(|v| ArnPattern::new(&wildcard_template(v)))
                        .collect(),
                ),
                matches!(c.operator, Op::ArnNotEquals | Op::ArnNotLike),
            ),
            Op::Null => (
                Test::Null(
                    c.values
                        .iter()
                        .map(|v| match v {
                            ConditionValue::Bool(b) => Some(*b),
                            _ => value_text(v).as_deref().and_then(parse_bool),
                        })
                        .collect(),
                ),
                false,
            ),
        };
        CompiledCondition {
            key: c.key.as_str().into(),
            key_lower: c.key.to_ascii_lowercase().into_boxed_str(),
            key_hash: key_hash(&c.key),
            test,
            negated,
            if_exists: c.if_exists,
            set: c.set,
        }
    }

    /// The keys of the policy variables in the condition's values.
    fn variable_keys(&self) -> impl Iterator<Item = &str> {
        let parts: Box<dyn Iterator<Item = &[TemplatePart]>> = match &self.test {
            Test::StringEquals { values, .. } => Box::new(values.iter().map(|v| match v {
                PlainValue::Literal(_) => &[][..],
                PlainValue::Dynamic(parts) => parts,
            })),
            Test::Bool(values) => Box::new(values.iter().map(|v| match v {
                BoolValue::Fixed(_) => &[][..],
                BoolValue::Dynamic(parts) => parts,
            })),
            _ => Box::new(std::iter::empty()),
        };
        let from_parts = parts.flatten().filter_map(|p| match p {
            TemplatePart::Variable(v) => Some(v.key.as_str()),
            _ => None,
        });
        let templates: Box<dyn Iterator<Item = &Template>> = match &self.test {
            Test::StringLike(t) => Box::new(t.iter()),
            Test::Arn(a) => Box::new(a.iter().flatten().flat_map(|a| a.fields.iter())),
            _ => Box::new(std::iter::empty()),
        };
        let from_templates = templates
            .flat_map(|t| t.variables())
            .map(|v| v.key.as_str());
        from_parts.chain(from_templates)
    }
}

fn comparison(op: ConditionOperator) -> Comparison {
    use ConditionOperator as Op;
    match op {
        Op::NumericLessThan | Op::DateLessThan => Comparison::Less,
        Op::NumericLessThanEquals | Op::DateLessThanEquals => Comparison::LessOrEqual,
        Op::NumericGreaterThan | Op::DateGreaterThan => Comparison::Greater,
        Op::NumericGreaterThanEquals | Op::DateGreaterThanEquals => Comparison::GreaterOrEqual,
        _ => Comparison::Equal,
    }
}

/// The text of a value for operators that take no policy variables (numbers, dates, IP
/// ranges, base64): `None` when the value holds a variable, which these operators do not
/// substitute, so it can match nothing.
fn value_text(v: &ConditionValue) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        ConditionValue::String(t) => match t.as_literal() {
            Some(s) => Some(s.into()),
            None if !t.has_variables() => t.render_with(|_| None).map(Into::into),
            None => None,
        },
        ConditionValue::Number(n) => Some(n.as_str().into()),
        ConditionValue::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
    }
}

fn plain_value(v: &ConditionValue) -> PlainValue {
    match v {
        ConditionValue::String(t) => match t.dynamic_parts() {
            Some(parts) => PlainValue::Dynamic(parts.into()),
            None => PlainValue::Literal(
                t.as_literal()
                    .map(Into::into)
                    .or_else(|| t.render_with(|_| None).map(String::into_boxed_str))
                    .unwrap_or_default(),
            ),
        },
        ConditionValue::Number(n) => PlainValue::Literal(n.as_str().into()),
        ConditionValue::Bool(b) => PlainValue::Literal(if *b { "true" } else { "false" }.into()),
    }
}

/// A value as a wildcard template. String values of wildcard operators are parsed that way
/// already; JSON numbers and booleans are plain text.
fn wildcard_template(v: &ConditionValue) -> Template {
    match v {
        ConditionValue::String(t) => t.clone(),
        ConditionValue::Number(n) => Template::parse_plain(n, false),
        ConditionValue::Bool(b) => Template::parse_plain(if *b { "true" } else { "false" }, false),
    }
}

impl ArnPattern {
    /// Splits a pattern into six fields at its first five colons; `None` for a pattern with
    /// fewer fields, which matches no ARN.
    fn new(template: &Template) -> Option<ArnPattern> {
        let mut fields: Vec<Vec<TemplatePart>> = vec![Vec::new()];
        for part in template.parts().iter() {
            match part {
                TemplatePart::Literal(s) => {
                    let mut rest = s.as_str();
                    loop {
                        let split = if fields.len() < 6 {
                            rest.find(':')
                        } else {
                            None
                        };
                        let Some(i) = split else {
                            if !rest.is_empty() {
                                fields
                                    .last_mut()?
                                    .push(TemplatePart::Literal(rest.to_owned()));
                            }
                            break;
                        };
                        let (head, tail) = (rest.get(..i)?, rest.get(i + 1..)?);
                        if !head.is_empty() {
                            fields
                                .last_mut()?
                                .push(TemplatePart::Literal(head.to_owned()));
                        }
                        fields.push(Vec::new());
                        rest = tail;
                    }
                }
                other => fields.last_mut()?.push(other.clone()),
            }
        }
        (fields.len() == 6).then(|| ArnPattern {
            fields: fields.into_iter().map(Template::from_parts).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, PolicyKind};

    fn policy(doc: &str) -> Policy {
        parse(doc, PolicyKind::Identity).expect("valid policy")
    }

    #[test]
    fn indexes_by_service() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":["s3:GetObject","S3:Put*"],"Resource":"*"},
                {"Effect":"Allow","Action":"iam:*","Resource":"*"},
                {"Effect":"Deny","NotAction":"iam:*","Resource":"*"},
                {"Effect":"Allow","Action":"*","Resource":"*"},
                {"Effect":"Allow","Action":["ec2:Describe*","s3:List*"],"Resource":"*"}
            ]}"#,
        );
        let set = PolicySet::new([("p", &p)]);
        let idx =
            |service: &str| -> Vec<u32> { set.candidates(service).map(|s| s.index).collect() };
        assert_eq!(idx("s3"), vec![0, 2, 3, 4]);
        assert_eq!(idx("S3"), vec![0, 2, 3, 4]);
        assert_eq!(idx("iam"), vec![1, 2, 3]);
        assert_eq!(idx("ec2"), vec![2, 3, 4]);
        assert_eq!(idx("sqs"), vec![2, 3]);
        assert_eq!(set.statement_count(), 5);
        assert_eq!(set.policy_ids().collect::<Vec<_>>(), ["p"]);
    }

    #[test]
    fn action_lists_are_searched_by_service() {
        let mut actions: Vec<String> = (0..300)
            .flat_map(|i| [format!("svc{i}:Get*"), format!("svc{i}:List*")])
            .collect();
        actions.push("IAM:GetUser".into());
        let block = ActionBlock::Action(
            actions
                .iter()
                .map(|a| crate::ActionPattern::new(a))
                .collect(),
        );
        let compiled = CompiledActions::new(&block);
        for (action, want) in [
            ("svc7:GetThing", true),
            ("SVC7:listthings", true),
            ("svc7:PutThing", false),
            ("svc300:GetThing", false),
            ("iam:getuser", true),
            ("iam:GetUsers", false),
        ] {
            let lowered = action.to_ascii_lowercase();
            assert_eq!(
                compiled.applies_to(action, Some(&lowered)),
                want,
                "{action}"
            );
            assert_eq!(block.applies_to(action), want, "{action}");
        }
        let not = ActionBlock::NotAction(vec![crate::ActionPattern::new("*")]);
        assert!(!CompiledActions::new(&not).applies_to("s3:GetObject", Some("s3:getobject")));
    }

    #[test]
    fn arn_fields() {
        let t = Template::parse("arn:aws:sns:*:123456789012:topic:sub:x", true);
        let a = ArnPattern::new(&t).expect("six fields");
        let fields: Vec<String> = a.fields.iter().map(ToString::to_string).collect();
        assert_eq!(
            fields,
            ["arn", "aws", "sns", "*", "123456789012", "topic:sub:x"]
        );
        assert!(ArnPattern::new(&Template::parse("*", true)).is_none());
        assert!(ArnPattern::new(&Template::parse("arn:aws:s3:::b", true)).is_some());
        let v = Template::parse("arn:aws:iam::${aws:PrincipalAccount}:user/*", true);
        let a = ArnPattern::new(&v).expect("six fields");
        assert!(a.fields.get(4).is_some_and(Template::has_variables));
    }

    #[test]
    fn context_keys_once_each() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*",
                 "Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"},
                              "Bool":{"AWS:SecureTransport":"true"}}},
                {"Effect":"Deny","Action":"s3:*","Resource":"*",
                 "Condition":{"Bool":{"aws:securetransport":"false"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},
                              "ArnLike":{"aws:SourceArn":"arn:aws:sns:*:${aws:PrincipalAccount}:*"}}}
            ]}"#,
        );
        let set = PolicySet::new([("p", &p)]);
        assert_eq!(set.context_keys(), context_keys([&p]));
        assert_eq!(
            set.context_keys(),
            [
                "aws:username",
                "aws:ResourceTag/team",
                "aws:PrincipalTag/team",
                "AWS:SecureTransport",
                "aws:SourceIp",
                "aws:SourceArn",
                "aws:PrincipalAccount",
            ]
        );
    }
}
