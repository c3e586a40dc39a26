//! A character cursor over a LogsQL query: whitespace and `#` comments, quoted strings in
//! the three LogsQL forms, bare words, and raw text for the places (times, durations)
//! where LogsQL's own delimiters appear inside a value. Every read is bounds-checked.

/// Characters that end a bare word (besides whitespace).
const WORD_STOPS: &[char] = &[
    '(', ')', '[', ']', '{', '}', ',', '|', ':', '"', '\'', '`', '*',
];
/// Characters a bare word may not start with: they begin an operator instead.
const START_STOPS: &[char] = &['=', '!', '~', '<', '>', '-'];

/// The cursor.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// A cursor at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    /// Byte offset of the cursor.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves the cursor back to `pos` (from [`Lexer::pos`]).
    pub fn reset(&mut self, pos: usize) {
        self.pos = pos.min(self.src.len());
    }

    /// What is left.
    pub fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    /// Skips whitespace and comments (`#` to the end of the line).
    pub fn skip_space(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with('#') {
                let line = trimmed.find('\n').unwrap_or(trimmed.len());
                self.pos += line;
            } else {
                return;
            }
        }
    }

    /// Whether only whitespace and comments remain.
    pub fn at_end(&mut self) -> bool {
        self.skip_space();
        self.rest().is_empty()
    }

    /// The next character, without moving.
    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Consumes `text` if the input continues with it (no space skipping).
    pub fn eat(&mut self, text: &str) -> bool {
        if self.rest().starts_with(text) {
            self.pos += text.len();
            true
        } else {
            false
        }
    }

    /// Consumes the keyword `word` (any case) if the input continues with it as a whole
    /// bare word.
    pub fn eat_keyword(&mut self, word: &str) -> bool {
        let start = self.pos;
        match self.bare(false) {
            Some(found) if found.eq_ignore_ascii_case(word) => true,
            _ => {
                self.pos = start;
                false
            }
        }
    }

    /// Whether the input continues with the keyword `word` (any case) as a whole bare word.
    pub fn peek_keyword(&mut self, word: &str) -> bool {
        let start = self.pos;
        let found = self.eat_keyword(word);
        self.pos = start;
        found
    }

    /// A bare word. With `leading_dash`, a word may start with `-` (values such as `-1`).
    pub fn bare(&mut self, leading_dash: bool) -> Option<&'a str> {
        let rest = self.rest();
        let first = rest.chars().next()?;
        if first.is_whitespace()
            || WORD_STOPS.contains(&first)
            || (START_STOPS.contains(&first) && !(leading_dash && first == '-'))
        {
            return None;
        }
        let len = rest
            .char_indices()
            .skip(1)
            .find(|&(_, c)| c.is_whitespace() || WORD_STOPS.contains(&c))
            .map_or(rest.len(), |(i, _)| i);
        self.pos += len;
        rest.get(..len)
    }

    /// Whether a quoted string starts here.
    pub fn at_quote(&self) -> bool {
        matches!(self.peek(), Some('"' | '\'' | '`'))
    }

    /// A quoted string: `"…"` and `'…'` with Go-style escapes, `` `…` `` raw.
    pub fn quoted(&mut self) -> Result<String, String> {
        let quote = self.peek().ok_or("missing string")?;
        let start = self.pos;
        self.pos += quote.len_utf8();
        if quote == '`' {
            let rest = self.rest();
            let end = rest.find('`').ok_or_else(|| unterminated(start))?;
            self.pos += end + 1;
            return Ok(rest.get(..end).unwrap_or("").to_owned());
        }
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos += i + 1;
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let (_, escape) = chars.next().ok_or_else(|| unterminated(start))?;
            let simple = match escape {
                'n' => Some('\n'),
                't' => Some('\t'),
                'r' => Some('\r'),
                'a' => Some('\u{7}'),
                'b' => Some('\u{8}'),
                'f' => Some('\u{c}'),
                'v' => Some('\u{b}'),
                '\\' | '"' | '\'' | '/' => Some(escape),
                _ => None,
            };
            if let Some(c) = simple {
                out.push(c);
                continue;
            }
            let digits = match escape {
                'x' => 2,
                'u' => 4,
                'U' => 8,
                other => {
                    return Err(format!(
                        "unknown escape sequence \\{other} in the string at position {start}"
                    ));
                }
            };
            let mut code = 0u32;
            for _ in 0..digits {
                let (_, d) = chars.next().ok_or_else(|| unterminated(start))?;
                let d = d.to_digit(16).ok_or_else(|| {
                    format!("bad hex digit {d:?} in the string at position {start}")
                })?;
                code = code * 16 + d;
            }
            let c = char::from_u32(code).ok_or_else(|| {
                format!("invalid character code {code:#x} in the string at position {start}")
            })?;
            out.push(c);
        }
        Err(unterminated(start))
    }

    /// A bare word or a quoted string.
    pub fn word_or_quoted(&mut self, leading_dash: bool) -> Result<Option<String>, String> {
        if self.at_quote() {
            return self.quoted().map(Some);
        }
        Ok(self.bare(leading_dash).map(str::to_owned))
    }

    /// Raw text up to (not including) the first whitespace or one of `stops`.
    pub fn raw_until(&mut self, stops: &[char]) -> &'a str {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(_, c)| c.is_whitespace() || stops.contains(&c))
            .map_or(rest.len(), |(i, _)| i);
        self.pos += len;
        rest.get(..len).unwrap_or("")
    }

    /// Raw text up to one of `stops`, whitespace included, trimmed.
    pub fn raw_until_any(&mut self, stops: &[char]) -> &'a str {
        let rest = self.rest();
        let len = rest
            .find(|c: char| stops.contains(&c))
            .unwrap_or(rest.len());
        self.pos += len;
        rest.get(..len).unwrap_or("").trim()
    }
}

fn unterminated(start: usize) -> String {
    format!("unterminated string at position {start}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_forms() {
        assert_eq!(
            Lexer::new(r#""a\"b\n\u00e9""#).quoted(),
            Ok("a\"b\né".to_owned())
        );
        assert_eq!(Lexer::new(r#"'it''"#).quoted(), Ok("it".to_owned()));
        assert_eq!(Lexer::new(r"`raw\n`").quoted(), Ok("raw\\n".to_owned()));
        assert!(Lexer::new(r#""open"#).quoted().is_err());
        assert!(Lexer::new(r#""\q""#).quoted().is_err());
        assert!(Lexer::new(r#""\u12""#).quoted().is_err());
        assert!(Lexer::new(r#""\UFFFFFFFF""#).quoted().is_err());
    }

    #[test]
    fn bare_words_stop_at_delimiters() {
        let mut lexer = Lexer::new("log.level:error* foo-bar=1");
        assert_eq!(lexer.bare(false), Some("log.level"));
        assert!(lexer.eat(":"));
        assert_eq!(lexer.bare(false), Some("error"));
        assert!(lexer.eat("*"));
        lexer.skip_space();
        assert_eq!(lexer.bare(false), Some("foo-bar=1"));
        assert!(lexer.at_end());
        assert_eq!(Lexer::new("-x").bare(false), None);
        assert_eq!(Lexer::new("-1").bare(true), Some("-1"));
    }

    #[test]
    fn comments_and_keywords() {
        let mut lexer = Lexer::new("  # comment\n  OR x");
        lexer.skip_space();
        assert!(lexer.peek_keyword("or"));
        assert!(!lexer.peek_keyword("and"));
        assert!(lexer.eat_keyword("or"));
        assert!(!Lexer::new("orange").eat_keyword("or"));
    }
}
