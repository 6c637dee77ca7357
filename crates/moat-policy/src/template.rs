//! Strings that may hold policy variables (`${aws:username}`) and wildcards: the values of
//! `Resource`, `NotResource` and condition values.
//!
//! Variables are only recognised in policies of version 2012-10-17; in older policies `${...}`
//! is ordinary text, which is why parsing takes the policy's version into account.

use std::borrow::Cow;
use std::fmt;

use crate::wildcard::{glob_match, CaseSensitivity, Piece, WildcardPattern};

/// A policy variable reference: `${key}` or `${key, 'default'}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyVariable {
    /// The context key, as written (`aws:username`, `aws:PrincipalTag/team`). Context keys are
    /// compared without regard to case when resolved.
    pub key: String,
    /// The value to use when the request context has no value for `key`.
    pub default: Option<String>,
}

/// One element of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TemplatePart {
    /// Text to match literally. `${*}`, `${?}` and `${$}` end up here as the plain characters.
    Literal(String),
    /// An unescaped `*`: a wildcard in `...Like` and ARN comparisons, a plain `*` otherwise.
    AnyRun,
    /// An unescaped `?`: a wildcard in `...Like` and ARN comparisons, a plain `?` otherwise.
    AnyChar,
    Variable(PolicyVariable),
}

/// A parsed resource or condition string.
///
/// Templates without variables, by far the commonest, are stored as a compiled matcher only,
/// so matching them costs no allocation. Matching is case-sensitive: ARNs and `StringLike`
/// compare case-sensitively.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Template {
    repr: Repr,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Static(WildcardPattern),
    /// At least one part is a variable.
    Dynamic(Box<[TemplatePart]>),
}

impl Template {
    /// Parses `text`, recognising policy variables only when `variables` is true (that is, in
    /// 2012-10-17 policies).
    pub fn parse(text: &str, variables: bool) -> Self {
        Self::parse_with(text, variables, true)
    }

    /// Parses `text` where `*` and `?` are ordinary characters: the values of condition
    /// operators that do not use wildcards (`StringEquals`, `NumericEquals`, ...). Policy
    /// variables and the `${*}`-style escapes are still recognised when `variables` is true.
    pub fn parse_plain(text: &str, variables: bool) -> Self {
        Self::parse_with(text, variables, false)
    }

    fn parse_with(text: &str, variables: bool, wildcards: bool) -> Self {
        if !variables || !text.contains("${") {
            let pattern = if wildcards {
                WildcardPattern::new(text, CaseSensitivity::Sensitive)
            } else {
                WildcardPattern::from_pieces(
                    vec![Piece::Literal(text.to_owned())],
                    CaseSensitivity::Sensitive,
                )
            };
            return Template {
                repr: Repr::Static(pattern),
            };
        }
        let mut parts: Vec<TemplatePart> = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if rest.starts_with("${") {
                if let Some((var, len)) = parse_variable(rest) {
                    match var {
                        VariableSyntax::Escape(c) => literal.push(c),
                        VariableSyntax::Variable(v) => {
                            flush(&mut parts, &mut literal);
                            parts.push(TemplatePart::Variable(v));
                        }
                    }
                    rest = rest.get(len..).unwrap_or_default();
                    continue;
                }
            }
            match c {
                '*' if wildcards => {
                    flush(&mut parts, &mut literal);
                    parts.push(TemplatePart::AnyRun);
                }
                '?' if wildcards => {
                    flush(&mut parts, &mut literal);
                    parts.push(TemplatePart::AnyChar);
                }
                _ => literal.push(c),
            }
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
        }
        flush(&mut parts, &mut literal);
        Self::from_parts(parts)
    }

    /// The template as a sequence of parts (built on demand for templates without variables).
    pub fn parts(&self) -> Cow<'_, [TemplatePart]> {
        match &self.repr {
            Repr::Dynamic(parts) => Cow::Borrowed(parts),
            Repr::Static(pattern) => Cow::Owned(
                pattern
                    .pieces()
                    .into_iter()
                    .map(|p| match p {
                        Piece::Literal(s) => TemplatePart::Literal(s.to_owned()),
                        Piece::AnyRun => TemplatePart::AnyRun,
                        Piece::AnyChar => TemplatePart::AnyChar,
                    })
                    .collect(),
            ),
        }
    }

    pub fn has_variables(&self) -> bool {
        matches!(self.repr, Repr::Dynamic(_))
    }

    pub fn variables(&self) -> impl Iterator<Item = &PolicyVariable> {
        let parts: &[TemplatePart] = match &self.repr {
            Repr::Static(_) => &[],
            Repr::Dynamic(parts) => parts,
        };
        parts.iter().filter_map(|p| match p {
            TemplatePart::Variable(v) => Some(v),
            _ => None,
        })
    }

    /// True for a bare `*`, which matches every string.
    pub fn matches_everything(&self) -> bool {
        match &self.repr {
            Repr::Static(pattern) => pattern.matches_everything(),
            Repr::Dynamic(_) => false,
        }
    }

    /// Wildcard match of a template without variables. A template with variables never matches
    /// here: use [`Template::matches_with`] and supply their values.
    pub fn matches(&self, input: &str) -> bool {
        match &self.repr {
            Repr::Static(pattern) => pattern.matches(input),
            Repr::Dynamic(_) => false,
        }
    }

    /// Wildcard match, resolving each variable with `resolve` (given the variable's key) and
    /// falling back to its default. A variable with neither a value nor a default makes the
    /// template match nothing, as in IAM.
    pub fn matches_with<'v>(
        &self,
        input: &str,
        mut resolve: impl FnMut(&str) -> Option<&'v str>,
    ) -> bool {
        self.try_matches_with(input, &mut resolve).unwrap_or(false)
    }

    /// Like [`Template::matches_with`], but tells a non-match from a variable that could not
    /// be resolved (`None`), which makes IAM disregard the whole statement: a `NotResource`
    /// with an unresolvable variable must not start to apply.
    pub fn try_matches_with<'v>(
        &self,
        input: &str,
        mut resolve: impl FnMut(&str) -> Option<&'v str>,
    ) -> Option<bool> {
        let parts = match &self.repr {
            Repr::Static(pattern) => return Some(pattern.matches(input)),
            Repr::Dynamic(parts) => parts,
        };
        // Templates are short; assemble the pieces on the stack when they fit, as this runs
        // on every authorization decision that reaches a statement with variables.
        const INLINE: usize = 16;
        if parts.len() <= INLINE {
            let mut inline = [Piece::AnyRun; INLINE];
            for (slot, part) in inline.iter_mut().zip(parts.iter()) {
                *slot = piece_of(part, &mut resolve)?;
            }
            let pieces = inline.get(..parts.len())?;
            return Some(glob_match(pieces, input, false));
        }
        let mut pieces: Vec<Piece<&str>> = Vec::with_capacity(parts.len());
        for part in parts.iter() {
            pieces.push(piece_of(part, &mut resolve)?);
        }
        Some(glob_match(&pieces, input, false))
    }

    /// The one string a template without variables or wildcards stands for.
    pub fn as_literal(&self) -> Option<&str> {
        match &self.repr {
            Repr::Static(pattern) => pattern.as_literal(),
            Repr::Dynamic(_) => None,
        }
    }

    /// The parts of a template with variables; `None` for one without.
    pub(crate) fn dynamic_parts(&self) -> Option<&[TemplatePart]> {
        match &self.repr {
            Repr::Static(_) => None,
            Repr::Dynamic(parts) => Some(parts),
        }
    }

    /// Builds a template from parts, as [`Template::parse`] would have produced it.
    pub(crate) fn from_parts(parts: Vec<TemplatePart>) -> Self {
        if parts.iter().any(|p| matches!(p, TemplatePart::Variable(_))) {
            return Template {
                repr: Repr::Dynamic(parts.into_boxed_slice()),
            };
        }
        let pieces = parts
            .into_iter()
            .filter_map(|p| match p {
                TemplatePart::Literal(s) => Some(Piece::Literal(s)),
                TemplatePart::AnyRun => Some(Piece::AnyRun),
                TemplatePart::AnyChar => Some(Piece::AnyChar),
                TemplatePart::Variable(_) => None,
            })
            .collect();
        Template {
            repr: Repr::Static(WildcardPattern::from_pieces(
                pieces,
                CaseSensitivity::Sensitive,
            )),
        }
    }

    /// The string with variables substituted and wildcards kept as plain `*`/`?`, for
    /// comparisons that do not interpret wildcards (`StringEquals`). `None` when a variable has
    /// neither a value nor a default.
    pub fn render_with<'v>(
        &self,
        mut resolve: impl FnMut(&str) -> Option<&'v str>,
    ) -> Option<String> {
        let mut out = String::new();
        for part in self.parts().iter() {
            match part {
                TemplatePart::Literal(s) => out.push_str(s),
                TemplatePart::AnyRun => out.push('*'),
                TemplatePart::AnyChar => out.push('?'),
                TemplatePart::Variable(v) => {
                    out.push_str(resolve(&v.key).or(v.default.as_deref())?)
                }
            }
        }
        Some(out)
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template").field(&self.to_string()).finish()
    }
}

/// Writes the template back in policy syntax, escaping literal `*`, `?` and `${` as `${*}`,
/// `${?}` and `${$}{`, which would otherwise be read differently.
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in self.parts().iter() {
            match part {
                TemplatePart::Literal(s) => {
                    let mut chars = s.chars().peekable();
                    while let Some(c) = chars.next() {
                        match c {
                            '*' => f.write_str("${*}")?,
                            '?' => f.write_str("${?}")?,
                            '$' if chars.peek() == Some(&'{') => f.write_str("${$}")?,
                            _ => write!(f, "{c}")?,
                        }
                    }
                }
                TemplatePart::AnyRun => f.write_str("*")?,
                TemplatePart::AnyChar => f.write_str("?")?,
                TemplatePart::Variable(v) => match &v.default {
                    Some(d) => write!(f, "${{{}, '{}'}}", v.key, d)?,
                    None => write!(f, "${{{}}}", v.key)?,
                },
            }
        }
        Ok(())
    }
}

/// The wildcard piece for one template part, with a variable replaced by its value (or
/// default); `None` when it has neither. A substituted value is matched literally: a `*`
/// inside a tag value must not widen the pattern.
fn piece_of<'s, 'p: 's, 'v: 's>(
    part: &'p TemplatePart,
    resolve: &mut impl FnMut(&str) -> Option<&'v str>,
) -> Option<Piece<&'s str>> {
    Some(match part {
        TemplatePart::Literal(s) => Piece::Literal(s.as_str()),
        TemplatePart::AnyRun => Piece::AnyRun,
        TemplatePart::AnyChar => Piece::AnyChar,
        TemplatePart::Variable(v) => Piece::Literal(resolve(&v.key).or(v.default.as_deref())?),
    })
}

fn flush(parts: &mut Vec<TemplatePart>, literal: &mut String) {
    if !literal.is_empty() {
        parts.push(TemplatePart::Literal(std::mem::take(literal)));
    }
}

enum VariableSyntax {
    Escape(char),
    Variable(PolicyVariable),
}

/// Parses `${...}` at the start of `s`; returns what it denotes and its length in bytes.
/// Anything malformed is not a variable and is left to be read as text.
fn parse_variable(s: &str) -> Option<(VariableSyntax, usize)> {
    let body_start = 2;
    let body = s.get(body_start..)?;
    // Find the closing brace, skipping over a quoted default that may itself contain braces.
    let mut in_quote = false;
    let mut close = None;
    for (i, c) in body.char_indices() {
        match c {
            '\'' => in_quote = !in_quote,
            '}' if !in_quote => {
                close = Some(i);
                break;
            }
            _ => {}
        }
    }
    let close = close?;
    let inner = body.get(..close)?;
    let len = body_start + close + 1;
    match inner {
        "*" => return Some((VariableSyntax::Escape('*'), len)),
        "?" => return Some((VariableSyntax::Escape('?'), len)),
        "$" => return Some((VariableSyntax::Escape('$'), len)),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        None => (inner.trim(), None),
        Some((key, default)) => {
            let default = default.trim();
            let quoted = default.strip_prefix('\'')?.strip_suffix('\'')?;
            if quoted.contains('\'') {
                return None;
            }
            (key.trim(), Some(quoted.to_owned()))
        }
    };
    if key.is_empty()
        || key
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '{' | '$' | '\''))
    {
        return None;
    }
    Some((
        VariableSyntax::Variable(PolicyVariable {
            key: key.to_owned(),
            default,
        }),
        len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn var(key: &str, default: Option<&str>) -> TemplatePart {
        TemplatePart::Variable(PolicyVariable {
            key: key.into(),
            default: default.map(Into::into),
        })
    }

    fn lit(s: &str) -> TemplatePart {
        TemplatePart::Literal(s.into())
    }

    #[test]
    fn parses_variables_and_escapes() {
        let t = Template::parse("arn:aws:s3:::bucket/home/${aws:username}/*", true);
        assert_eq!(
            &*t.parts(),
            &[
                lit("arn:aws:s3:::bucket/home/"),
                var("aws:username", None),
                lit("/"),
                TemplatePart::AnyRun,
            ]
        );
        let t = Template::parse("a${*}b${?}c${$}d", true);
        assert_eq!(&*t.parts(), &[lit("a*b?c$d")]);
        assert!(!t.has_variables());
        assert!(t.matches("a*b?c$d"));
        assert!(!t.matches("aXb?c$d"));

        let t = Template::parse("${aws:PrincipalTag/team, 'none'}", true);
        assert_eq!(&*t.parts(), &[var("aws:PrincipalTag/team", Some("none"))]);
        let t = Template::parse("${ aws:username ,'a}b' }x", true);
        assert_eq!(&*t.parts(), &[var("aws:username", Some("a}b")), lit("x")]);
    }

    #[test]
    fn malformed_variables_are_text() {
        for s in [
            "${aws:username",
            "${}",
            "${a,b}",
            "${a, 'b}",
            "$",
            "${ }",
            "x${",
            "${a b}",
        ] {
            let t = Template::parse(s, true);
            assert!(!t.has_variables(), "{s}");
            assert!(t.matches(s), "{s}");
        }
    }

    #[test]
    fn old_version_has_no_variables() {
        let t = Template::parse("home/${aws:username}", false);
        assert!(!t.has_variables());
        assert!(t.matches("home/${aws:username}"));
    }

    #[test]
    fn matches_with_resolves() {
        let t = Template::parse("arn:aws:s3:::b/${aws:username}/*", true);
        assert!(!t.matches("arn:aws:s3:::b/alice/x"));
        let alice = |k: &str| (k == "aws:username").then_some("alice");
        assert!(t.matches_with("arn:aws:s3:::b/alice/x", alice));
        assert!(!t.matches_with("arn:aws:s3:::b/bob/x", alice));
        assert!(!t.matches_with("arn:aws:s3:::b/alice/x", |_| None));

        let with_default = Template::parse("team-${aws:PrincipalTag/team, 'none'}", true);
        assert!(with_default.matches_with("team-none", |_| None));
        assert!(with_default.matches_with("team-red", |_| Some("red")));

        // A `*` inside a substituted value is literal.
        let t = Template::parse("x/${aws:username}", true);
        assert!(!t.matches_with("x/anything", |_| Some("*")));
        assert!(t.matches_with("x/*", |_| Some("*")));
    }

    #[test]
    fn render() {
        let t = Template::parse("${aws:username}-*-${*}", true);
        assert_eq!(t.render_with(|_| Some("al")), Some("al-*-*".to_owned()));
        assert_eq!(t.render_with(|_| None), None);
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "arn:aws:s3:::b/${aws:username}/*",
            "a${*}b${?}c${$}d${aws:userid}",
            "${aws:PrincipalTag/team, 'none'}",
            "plain?*",
        ] {
            let t = Template::parse(s, true);
            assert_eq!(Template::parse(&t.to_string(), true), t, "{s}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>(), input in any::<String>()) {
            let t = Template::parse(&s, true);
            let _ = t.matches(&input);
            let _ = t.matches_with(&input, |_| Some("v"));
            let _ = t.to_string();
        }

        #[test]
        fn reparse_of_display_is_identity(s in "[a-z$*?{}:/',]{0,24}") {
            let t = Template::parse(&s, true);
            prop_assert_eq!(Template::parse(&t.to_string(), true), t);
        }
    }
}
