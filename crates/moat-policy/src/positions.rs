//! Where each statement sits in a policy document, for the IAM policy simulator's
//! `StartPosition` and `EndPosition`.
//!
//! A lexical scan over the text: the parsed tree does not keep positions, and the simulator
//! needs them only for the few statements that matched.

/// A place in a document: line and column, both counted from 1, columns in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// The span of each statement of a policy document, in statement order: from its opening
/// brace to its closing brace, both included. Empty when the document is not an object with
/// a `Statement` object or array (a document that parsed always is). When `Statement` is
/// repeated, the last one counts, as when parsing.
pub fn statement_positions(document: &str) -> Vec<(Position, Position)> {
    let mut scanner = Scanner::new(document);
    let mut found = Vec::new();
    scanner.skip_space();
    if !scanner.eat('{') {
        return found;
    }
    loop {
        scanner.skip_space();
        let Some(key) = scanner.string() else {
            return found;
        };
        scanner.skip_space();
        if !scanner.eat(':') {
            return found;
        }
        scanner.skip_space();
        if key == "Statement" {
            found = match scanner.peek() {
                Some('{') => scanner.object_span().into_iter().collect(),
                Some('[') => scanner.array_object_spans(),
                _ => Vec::new(),
            };
            if found.is_empty() && !scanner.skip_value() {
                return found;
            }
        } else if !scanner.skip_value() {
            return found;
        }
        scanner.skip_space();
        if !scanner.eat(',') {
            return found;
        }
    }
}

struct Scanner<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    position: Position,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            chars: text.chars().peekable(),
            position: Position { line: 1, column: 1 },
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.position.line = self.position.line.saturating_add(1);
            self.position.column = 1;
        } else {
            self.position.column = self.position.column.saturating_add(1);
        }
        Some(c)
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn skip_space(&mut self) {
        while self
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            self.bump();
        }
    }

    /// A string's raw contents (escapes left as written, which is enough to recognise a key).
    fn string(&mut self) -> Option<String> {
        if !self.eat('"') {
            return None;
        }
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => {
                    out.push('\\');
                    out.push(self.bump()?);
                }
                c => out.push(c),
            }
        }
    }

    /// Skips any value; `false` at the end of the text or on a stray character.
    fn skip_value(&mut self) -> bool {
        match self.peek() {
            Some('"') => self.string().is_some(),
            Some('{' | '[') => self.skip_nested(),
            Some(_) => {
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, ',' | '}' | ']' | ' ' | '\t' | '\n' | '\r'))
                {
                    self.bump();
                }
                true
            }
            None => false,
        }
    }

    /// Skips an object or array with everything in it.
    fn skip_nested(&mut self) -> bool {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return false,
                Some('"') => {
                    if self.string().is_none() {
                        return false;
                    }
                    continue;
                }
                Some('{' | '[') => depth = depth.saturating_add(1),
                Some('}' | ']') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.bump();
                        return true;
                    }
                }
                Some(_) => {}
            }
            self.bump();
        }
    }

    fn object_span(&mut self) -> Option<(Position, Position)> {
        let start = self.position;
        if !self.skip_nested() {
            return None;
        }
        // The closing brace is the character before the one now under the cursor.
        let end = Position {
            line: self.position.line,
            column: self.position.column.saturating_sub(1),
        };
        Some((start, end))
    }

    fn array_object_spans(&mut self) -> Vec<(Position, Position)> {
        let mut spans = Vec::new();
        self.eat('[');
        loop {
            self.skip_space();
            match self.peek() {
                Some('{') => match self.object_span() {
                    Some(span) => spans.push(span),
                    None => return spans,
                },
                Some(']') => {
                    self.bump();
                    return spans;
                }
                Some(_) => {
                    if !self.skip_value() {
                        return spans;
                    }
                }
                None => return spans,
            }
            self.skip_space();
            if !self.eat(',') {
                self.eat(']');
                return spans;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: u32, column: u32) -> Position {
        Position { line, column }
    }

    #[test]
    fn one_statement_on_one_line() {
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let spans = statement_positions(doc);
        let open = doc.find("{\"Effect").unwrap();
        assert_eq!(spans, [(p(1, open as u32 + 1), p(1, doc.len() as u32 - 1))]);
    }

    #[test]
    fn statements_across_lines() {
        let doc = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\",\n     \"Action\": \"s3:*\", \"Resource\": \"*\"},\n    {\"Effect\": \"Deny\", \"Action\": \"s3:Delete*\", \"Resource\": \"*\",\n     \"Condition\": {\"Bool\": {\"aws:SecureTransport\": \"false\"}}}\n  ]\n}";
        let spans = statement_positions(doc);
        assert_eq!(spans, [(p(4, 5), p(5, 39)), (p(6, 5), p(7, 61))]);
    }

    #[test]
    fn strings_with_braces_and_escapes_do_not_confuse_it() {
        let doc = r#"{"Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/{x}\"]"}],"Id":"}"}"#;
        assert_eq!(statement_positions(doc).len(), 1);
        assert!(statement_positions("not json").is_empty());
        assert!(statement_positions(r#"{"Statement":"#).is_empty());
    }

    #[test]
    fn the_last_statement_member_counts() {
        let doc = r#"{"Statement":{"Effect":"Deny"},"Statement":[{"Effect":"Allow"},{"Effect":"Allow"}]}"#;
        assert_eq!(statement_positions(doc).len(), 2);
    }
}
