//! IAM wildcard matching: `*` matches any run of characters (including none), `?` exactly one.
//!
//! IAM patterns are globs, not regular expressions, and they are matched on every authorization
//! decision, so they are compiled once at parse time into a few shapes with cheap fast paths
//! (everything, exact, prefix) and a general form that never backtracks: the pieces between
//! stars have a fixed length in characters, so the leftmost occurrence of each is always a
//! correct choice.

use std::fmt;

/// Whether letters must match in case.
///
/// IAM compares action names without regard to case and ARNs with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseSensitivity {
    Sensitive,
    Insensitive,
}

/// A compiled `*`/`?` pattern.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WildcardPattern {
    shape: Shape,
    case: CaseSensitivity,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Shape {
    /// `*`, or any run of stars only.
    Everything,
    /// No wildcard at all.
    Exact(Box<str>),
    /// A literal followed by one trailing `*`, the commonest shape in real policies
    /// (`s3:Get*`, `arn:aws:s3:::bucket/*`).
    Prefix(Box<str>),
    General(Box<[Piece<Box<str>>]>),
}

/// One element of a wildcard pattern.
///
/// Generic over the string type so the same matcher runs on owned, compiled patterns and on
/// patterns assembled at match time from borrowed pieces (policy variables resolved per
/// request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Piece<S> {
    Literal(S),
    /// `*`
    AnyRun,
    /// `?`
    AnyChar,
}

impl WildcardPattern {
    /// Compiles `pattern`, where every `*` and `?` is a wildcard.
    pub fn new(pattern: &str, case: CaseSensitivity) -> Self {
        // Most patterns in real policies take one of the simple shapes; recognise them without
        // building the general form.
        let wild = |s: &str| s.contains(['*', '?']);
        if !wild(pattern) {
            return WildcardPattern {
                shape: Shape::Exact(pattern.into()),
                case,
            };
        }
        if let Some(prefix) = pattern.strip_suffix('*').filter(|p| !wild(p)) {
            let shape = if prefix.is_empty() {
                Shape::Everything
            } else {
                Shape::Prefix(prefix.into())
            };
            return WildcardPattern { shape, case };
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        for c in pattern.chars() {
            match c {
                '*' | '?' => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(if c == '*' {
                        Piece::AnyRun
                    } else {
                        Piece::AnyChar
                    });
                }
                _ => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Self::from_pieces(pieces, case)
    }

    pub(crate) fn from_pieces(pieces: Vec<Piece<String>>, case: CaseSensitivity) -> Self {
        let pieces = normalize(pieces);
        let shape = match pieces.as_slice() {
            [] => Shape::Exact("".into()),
            [Piece::AnyRun] => Shape::Everything,
            [Piece::Literal(s)] => Shape::Exact(s.as_str().into()),
            [Piece::Literal(s), Piece::AnyRun] => Shape::Prefix(s.as_str().into()),
            _ => Shape::General(
                pieces
                    .into_iter()
                    .map(|p| match p {
                        Piece::Literal(s) => Piece::Literal(s.into_boxed_str()),
                        Piece::AnyRun => Piece::AnyRun,
                        Piece::AnyChar => Piece::AnyChar,
                    })
                    .collect(),
            ),
        };
        WildcardPattern { shape, case }
    }

    /// True when the pattern matches the whole of `input`.
    pub fn matches(&self, input: &str) -> bool {
        let fold = self.case == CaseSensitivity::Insensitive;
        match &self.shape {
            Shape::Everything => true,
            Shape::Exact(s) if !fold => bytes_eq(s.as_bytes(), input.as_bytes()),
            Shape::Exact(s) => match_literal_at(s, input, fold) == Some(input.len()),
            Shape::Prefix(p) => match_literal_at(p, input, fold).is_some(),
            Shape::General(pieces) => glob_match(pieces, input, fold),
        }
    }

    /// True when the pattern matches every string (`*`).
    pub fn matches_everything(&self) -> bool {
        matches!(self.shape, Shape::Everything)
    }

    /// True when the pattern has no wildcard and so matches exactly one string (up to case).
    pub fn is_literal(&self) -> bool {
        matches!(self.shape, Shape::Exact(_))
    }

    /// The one string a pattern without wildcards matches.
    pub(crate) fn as_literal(&self) -> Option<&str> {
        match &self.shape {
            Shape::Exact(s) => Some(s),
            _ => None,
        }
    }

    pub fn case(&self) -> CaseSensitivity {
        self.case
    }

    /// The pattern as a sequence of pieces, whatever its compiled shape.
    pub(crate) fn pieces(&self) -> Vec<Piece<&str>> {
        match &self.shape {
            Shape::Everything => vec![Piece::AnyRun],
            Shape::Exact(s) if s.is_empty() => Vec::new(),
            Shape::Exact(s) => vec![Piece::Literal(s)],
            Shape::Prefix(p) => vec![Piece::Literal(p), Piece::AnyRun],
            Shape::General(pieces) => pieces
                .iter()
                .map(|p| match p {
                    Piece::Literal(s) => Piece::Literal(&**s),
                    Piece::AnyRun => Piece::AnyRun,
                    Piece::AnyChar => Piece::AnyChar,
                })
                .collect(),
        }
    }
}

impl fmt::Debug for WildcardPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WildcardPattern")
            .field(&self.to_string())
            .field(&self.case)
            .finish()
    }
}

impl fmt::Display for WildcardPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shape {
            Shape::Everything => f.write_str("*"),
            Shape::Exact(s) => f.write_str(s),
            Shape::Prefix(p) => write!(f, "{p}*"),
            Shape::General(pieces) => {
                for piece in pieces.iter() {
                    match piece {
                        Piece::Literal(s) => f.write_str(s)?,
                        Piece::AnyRun => f.write_str("*")?,
                        Piece::AnyChar => f.write_str("?")?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// Merges adjacent literals and collapses runs of stars, which match the same strings.
fn normalize(pieces: Vec<Piece<String>>) -> Vec<Piece<String>> {
    let mut out: Vec<Piece<String>> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match (out.last_mut(), piece) {
            (_, Piece::Literal(s)) if s.is_empty() => {}
            (Some(Piece::Literal(prev)), Piece::Literal(s)) => prev.push_str(&s),
            (Some(Piece::AnyRun), Piece::AnyRun) => {}
            (_, piece) => out.push(piece),
        }
    }
    out
}

/// Matches `input` against a sequence of pieces.
///
/// The pattern is split at its stars into chunks of literals and `?`. Each chunk matches a fixed
/// number of characters, so: the first chunk is anchored at the start, the last at the end, and
/// each middle chunk is taken at its leftmost occurrence in what remains; choosing the leftmost
/// occurrence never rules out a match that a later one would allow. Nothing is allocated.
pub(crate) fn glob_match<S: AsRef<str>>(pieces: &[Piece<S>], input: &str, fold: bool) -> bool {
    let is_star = |p: &Piece<S>| matches!(p, Piece::AnyRun);
    let Some(first_star) = pieces.iter().position(is_star) else {
        return match_chunk_at(pieces, input, fold) == Some(input.len());
    };
    let last_star = pieces.iter().rposition(is_star).unwrap_or(first_star);
    let (Some(first), Some(last)) = (pieces.get(..first_star), pieces.get(last_star + 1..)) else {
        return false;
    };
    let middle = pieces.get(first_star + 1..last_star).unwrap_or_default();

    let Some(rest) = match_chunk_at(first, input, fold).and_then(|n| input.get(n..)) else {
        return false;
    };
    // Anchor the last chunk at the end of the input. A chunk of literals compared exactly is
    // as long in bytes as what it matches, which spares counting characters.
    let exact_bytes = (!fold)
        .then(|| {
            last.iter()
                .map(|p| match p {
                    Piece::Literal(s) => Some(s.as_ref().len()),
                    _ => None,
                })
                .sum::<Option<usize>>()
        })
        .flatten();
    let last_start = match exact_bytes {
        Some(n) => rest.len().checked_sub(n),
        None => nth_char_from_end(rest, chunk_char_len(last)),
    };
    let Some(last_start) = last_start else {
        return false;
    };
    let (Some(mut window), Some(tail)) = (rest.get(..last_start), rest.get(last_start..)) else {
        return false;
    };
    if match_chunk_at(last, tail, fold) != Some(tail.len()) {
        return false;
    }
    for chunk in middle.split(is_star).filter(|c| !c.is_empty()) {
        match find_chunk(chunk, window, fold).and_then(|end| window.get(end..)) {
            Some(w) => window = w,
            None => return false,
        }
    }
    true
}

/// The number of characters a star-free chunk matches.
fn chunk_char_len<S: AsRef<str>>(chunk: &[Piece<S>]) -> usize {
    chunk
        .iter()
        .map(|p| match p {
            Piece::Literal(s) => s.as_ref().chars().count(),
            Piece::AnyChar => 1,
            Piece::AnyRun => 0,
        })
        .sum()
}

/// The byte offset at which the last `n` characters of `s` begin.
fn nth_char_from_end(s: &str, n: usize) -> Option<usize> {
    match n.checked_sub(1) {
        None => Some(s.len()),
        Some(skip) => s.char_indices().rev().nth(skip).map(|(i, _)| i),
    }
}

/// Matches a star-free chunk at the start of `input`; returns the bytes consumed.
fn match_chunk_at<S: AsRef<str>>(chunk: &[Piece<S>], input: &str, fold: bool) -> Option<usize> {
    let mut pos = 0;
    for piece in chunk {
        let rest = input.get(pos..)?;
        pos += match piece {
            Piece::Literal(lit) => match_literal_at(lit.as_ref(), rest, fold)?,
            Piece::AnyChar => rest.chars().next()?.len_utf8(),
            Piece::AnyRun => return None,
        };
    }
    Some(pos)
}

/// Matches `lit` at the start of `input`; returns the bytes of `input` consumed.
pub(crate) fn match_literal_at(lit: &str, input: &str, fold: bool) -> Option<usize> {
    if !fold {
        let head = input.as_bytes().get(..lit.len())?;
        return bytes_eq(head, lit.as_bytes()).then_some(lit.len());
    }
    if let Some(head) = input
        .get(..lit.len())
        .filter(|h| h.is_ascii() && lit.is_ascii())
    {
        return head.eq_ignore_ascii_case(lit).then_some(lit.len());
    }
    let mut chars = input.char_indices();
    let mut consumed = 0;
    for want in lit.chars() {
        let (i, got) = chars.next()?;
        if !char_eq(want, got, true) {
            return None;
        }
        consumed = i + got.len_utf8();
    }
    Some(consumed)
}

/// Finds the leftmost occurrence of a chunk in `haystack`; returns the byte offset just past it.
fn find_chunk<S: AsRef<str>>(chunk: &[Piece<S>], haystack: &str, fold: bool) -> Option<usize> {
    let try_at = |start: usize| {
        haystack
            .get(start..)
            .and_then(|rest| match_chunk_at(chunk, rest, fold))
            .map(|len| start + len)
    };
    match chunk.first() {
        // Candidates start with the literal's first byte. That byte begins a character (UTF-8
        // never starts a string with a continuation byte), so every candidate is a character
        // boundary. Haystacks are short ARNs, where this beats setting up a substring search.
        Some(Piece::Literal(lit)) if !fold => match lit.as_ref().as_bytes().first() {
            Some(&first) => haystack
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == first)
                .find_map(|(start, _)| try_at(start)),
            None => haystack.char_indices().find_map(|(start, _)| try_at(start)),
        },
        _ => haystack.char_indices().find_map(|(start, _)| try_at(start)),
    }
}

/// Equality of two byte strings, eight bytes at a time. The literals and ARNs compared here
/// are short, where calling out to `memcmp` costs more than the comparison.
#[inline]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut a8).zip(&mut b8) {
        let word = |w: &[u8]| <[u8; 8]>::try_from(w).map(u64::from_ne_bytes).unwrap_or(0);
        if word(x) != word(y) {
            return false;
        }
    }
    a8.remainder()
        .iter()
        .zip(b8.remainder())
        .all(|(x, y)| x == y)
}

fn char_eq(a: char, b: char, fold: bool) -> bool {
    if a == b {
        return true;
    }
    if !fold {
        return false;
    }
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(&b);
    }
    a.to_lowercase().eq(b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sensitive(p: &str, s: &str) -> bool {
        WildcardPattern::new(p, CaseSensitivity::Sensitive).matches(s)
    }

    fn insensitive(p: &str, s: &str) -> bool {
        WildcardPattern::new(p, CaseSensitivity::Insensitive).matches(s)
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything at all", true),
            ("**", "x", true),
            ("", "", true),
            ("", "a", false),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("abc", "ab", false),
            ("s3:Get*", "s3:GetObject", true),
            ("s3:Get*", "s3:Get", true),
            ("s3:Get*", "s3:PutObject", false),
            ("*Object", "s3:GetObject", true),
            ("*Object", "s3:GetObjects", false),
            ("s3:*Object*", "s3:GetObjectAcl", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXXbYY", false),
            ("a*b*c", "acb", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("a*ab*b", "aab", false),
            ("a*ab*b", "aabb", true),
            ("?", "", false),
            ("?", "x", true),
            ("?", "é", true),
            ("?", "xy", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*?", "", false),
            ("*?", "x", true),
            ("?*?", "xy", true),
            ("?*?", "x", false),
            ("arn:aws:s3:::b/?", "arn:aws:s3:::b/k", true),
            ("arn:aws:s3:::b/?", "arn:aws:s3:::b/kk", false),
            (
                "arn:aws:s3:::my-bucket/foo/*/bar",
                "arn:aws:s3:::my-bucket/foo/1/2/bar",
                true,
            ),
            ("*é*", "caféx", true),
            ("*x?z", "axyzxqz", true),
            ("a*?*b", "ab", false),
            ("a*?*b", "acb", true),
        ];
        for (p, s, want) in cases {
            assert_eq!(sensitive(p, s), *want, "pattern {p:?} input {s:?}");
        }
    }

    #[test]
    fn case_folding() {
        assert!(insensitive("s3:get*", "S3:GetObject"));
        assert!(!sensitive("s3:get*", "s3:GetObject"));
        assert!(insensitive("IAM:PassRole", "iam:passrole"));
        assert!(insensitive("*OBJECT", "s3:getobject"));
        assert!(insensitive("ÉTÉ", "été"));
        assert!(!sensitive("ÉTÉ", "été"));
        assert!(insensitive("a?C*", "abcdef"));
    }

    #[test]
    fn display_round_trips() {
        for p in ["*", "abc", "s3:Get*", "a*b?c", "?", ""] {
            assert_eq!(
                WildcardPattern::new(p, CaseSensitivity::Sensitive).to_string(),
                p
            );
        }
    }

    /// A deliberately naive reference matcher: exponential in the worst case, obviously right.
    fn reference(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('*', rest)) => (0..=s.len()).any(|i| reference(rest, &s[i..])),
            Some(('?', rest)) => !s.is_empty() && reference(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && reference(rest, &s[1..]),
        }
    }

    proptest! {
        #[test]
        fn literal_matches_only_itself(p in "[a-zA-Z0-9:/._-]{0,20}", s in "[a-zA-Z0-9:/._-]{0,20}") {
            let pat = WildcardPattern::new(&p, CaseSensitivity::Sensitive);
            prop_assert!(pat.matches(&p));
            prop_assert_eq!(pat.matches(&s), p == s);
        }

        #[test]
        fn star_matches_everything(s in any::<String>()) {
            prop_assert!(WildcardPattern::new("*", CaseSensitivity::Sensitive).matches(&s));
            prop_assert!(WildcardPattern::new("*", CaseSensitivity::Insensitive).matches(&s));
        }

        #[test]
        fn agrees_with_reference(p in "[ab*?]{0,8}", s in "[ab]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let sc: Vec<char> = s.chars().collect();
            prop_assert_eq!(sensitive(&p, &s), reference(&pc, &sc));
        }

        #[test]
        fn prefix_star_matches_extensions(p in "[a-z:]{0,10}", tail in any::<String>()) {
            let pat = WildcardPattern::new(&format!("{p}*"), CaseSensitivity::Sensitive);
            let input = format!("{p}{tail}");
            prop_assert!(pat.matches(&input));
        }

        #[test]
        fn insensitive_ignores_ascii_case(s in "[a-zA-Z:]{0,16}") {
            let pat = WildcardPattern::new(&s.to_ascii_uppercase(), CaseSensitivity::Insensitive);
            prop_assert!(pat.matches(&s.to_ascii_lowercase()));
        }

        #[test]
        fn bytes_eq_is_equality(a in prop::collection::vec(0u8..4, 0..40), b in prop::collection::vec(0u8..4, 0..40)) {
            prop_assert_eq!(bytes_eq(&a, &b), a == b);
            prop_assert!(bytes_eq(&a, &a));
        }

        #[test]
        fn never_panics(p in any::<String>(), s in any::<String>()) {
            let _ = sensitive(&p, &s);
            let _ = insensitive(&p, &s);
        }
    }
}
