//! The LogsQL parser: recursive descent over the [`Lexer`], `OR` below `AND` below `NOT`,
//! juxtaposition meaning `AND`, field prefixes (`f:`) scoping a filter or a parenthesised
//! group, then `| pipe` clauses. Nesting is bounded so hostile input cannot exhaust the
//! stack.

use regex::{Regex, RegexBuilder};

use super::Query;
use super::filter::{Filter, LabelMatcher, LabelOp, Test};
use super::lexer::Lexer;
use super::pipe::{GroupKey, Pipe, SortKey, SortSpec, StatsFunc, StatsKind, StatsSpec};
use crate::row::{MSG, STREAM, STREAM_ID, TIME};
use crate::timeutil;

/// Deepest nesting of parentheses and negations accepted.
const MAX_DEPTH: usize = 100;
/// Largest compiled regular expression accepted (bytes of the automaton).
const MAX_REGEX: usize = 1 << 20;

type Result<T> = std::result::Result<T, String>;

pub(super) fn parse(text: &str, now: i64) -> Result<Query> {
    let mut p = Parser {
        lex: Lexer::new(text),
        now,
        depth: 0,
    };
    p.lex.skip_space();
    if p.lex.eat_keyword("options") {
        p.skip_options()?;
    }
    let filter = p.or(MSG, false)?;
    let mut pipes = Vec::new();
    while !p.lex.at_end() {
        if !p.lex.eat("|") {
            return Err(p.unexpected());
        }
        pipes.push(p.pipe()?);
    }
    Ok(Query { filter, pipes })
}

struct Parser<'a> {
    lex: Lexer<'a>,
    now: i64,
    depth: usize,
}

impl Parser<'_> {
    fn unexpected(&mut self) -> String {
        self.lex.skip_space();
        let context: String = self.lex.rest().chars().take(30).collect();
        if context.is_empty() {
            "unexpected end of query".to_owned()
        } else {
            format!("unexpected {context:?} at position {}", self.lex.pos())
        }
    }

    fn expect(&mut self, text: &str) -> Result<()> {
        self.lex.skip_space();
        if self.lex.eat(text) {
            Ok(())
        } else {
            Err(format!("missing '{text}': {}", self.unexpected()))
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("the query nests deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// `options(...)` before the filters: accepted and ignored.
    fn skip_options(&mut self) -> Result<()> {
        if !self.lex.eat("(") {
            return Err(format!("missing '(' after options: {}", self.unexpected()));
        }
        self.lex.raw_until_any(&[')']);
        self.expect(")")
    }

    /// Whether the filter being parsed ends here.
    fn at_filter_end(&mut self) -> bool {
        self.lex.skip_space();
        matches!(self.lex.peek(), None | Some(')' | '|'))
    }

    fn or(&mut self, field: &str, scoped: bool) -> Result<Filter> {
        let mut any = vec![self.and(field, scoped)?];
        while self.lex.eat_keyword("or") {
            any.push(self.and(field, scoped)?);
        }
        Ok(if any.len() == 1 {
            any.pop().unwrap_or(Filter::All)
        } else {
            Filter::Or(any)
        })
    }

    fn and(&mut self, field: &str, scoped: bool) -> Result<Filter> {
        let mut all = Vec::new();
        loop {
            if self.at_filter_end() || self.lex.peek_keyword("or") {
                break;
            }
            self.lex.eat_keyword("and");
            all.push(self.unary(field, scoped)?);
        }
        match all.len() {
            0 => Err(format!("missing filter: {}", self.unexpected())),
            1 => Ok(all.pop().unwrap_or(Filter::All)),
            _ => Ok(Filter::And(all)),
        }
    }

    fn unary(&mut self, field: &str, scoped: bool) -> Result<Filter> {
        self.lex.skip_space();
        let negated = if self.lex.eat_keyword("not") || self.lex.eat("-") {
            true
        } else if self.lex.rest().starts_with('!')
            && !self.lex.rest().starts_with("!=")
            && !self.lex.rest().starts_with("!~")
        {
            self.lex.eat("!")
        } else {
            false
        };
        if negated {
            self.enter()?;
            let inner = self.unary(field, scoped)?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.primary(field, scoped)
    }

    fn primary(&mut self, field: &str, scoped: bool) -> Result<Filter> {
        self.lex.skip_space();
        match self.lex.peek() {
            Some('(') => {
                self.lex.eat("(");
                self.enter()?;
                let inner = self.or(field, scoped)?;
                self.depth -= 1;
                self.expect(")")?;
                return Ok(inner);
            }
            Some('{') => return self.stream_selector(),
            _ => {}
        }
        // `name:` makes the next filter apply to field `name`.
        let start = self.lex.pos();
        if let Some(name) = self.lex.word_or_quoted(false)?
            && self.lex.eat(":")
        {
            return self.field_filter(&name);
        }
        self.lex.reset(start);
        self.value_test(field, scoped)
    }

    fn field_filter(&mut self, name: &str) -> Result<Filter> {
        match name {
            TIME => return self.time_filter(),
            STREAM => {
                self.lex.skip_space();
                if self.lex.peek() != Some('{') {
                    return Err(format!(
                        "_stream: must be followed by {{...}}: {}",
                        self.unexpected()
                    ));
                }
                return self.stream_selector();
            }
            STREAM_ID => {
                let start = self.lex.pos();
                if self.lex.bare(false) == Some("in") && self.lex.eat("(") {
                    return Ok(Filter::StreamId(self.value_list()?));
                }
                self.lex.reset(start);
                return match self.lex.word_or_quoted(false)? {
                    Some(id) => Ok(Filter::StreamId(vec![id])),
                    None => Err(format!("missing _stream_id value: {}", self.unexpected())),
                };
            }
            _ => {}
        }
        if self.lex.eat("(") {
            self.enter()?;
            let inner = self.or(name, true)?;
            self.depth -= 1;
            self.expect(")")?;
            return Ok(inner);
        }
        self.value_test(name, true)
    }

    /// A test on `field`'s value; `scoped` tells whether the field was named (so `*` is
    /// "field present" rather than "every row").
    fn value_test(&mut self, field: &str, scoped: bool) -> Result<Filter> {
        let test = |test| {
            Ok(Filter::Field {
                name: field.to_owned(),
                test,
            })
        };
        if self.lex.eat("!=") {
            let value = self.value()?;
            return Ok(Filter::Not(Box::new(Filter::Field {
                name: field.to_owned(),
                test: Test::Exact(value),
            })));
        }
        if self.lex.eat("!~") {
            let re = regex(&self.value()?)?;
            return Ok(Filter::Not(Box::new(Filter::Field {
                name: field.to_owned(),
                test: Test::Regex(re),
            })));
        }
        if self.lex.eat("=") {
            let value = self.value()?;
            return if self.lex.eat("*") {
                test(Test::ExactPrefix(value))
            } else {
                test(Test::Exact(value))
            };
        }
        if self.lex.eat("~") {
            return test(Test::Regex(regex(&self.value()?)?));
        }
        if matches!(self.lex.peek(), Some('<' | '>')) {
            return Err(format!(
                "range comparisons such as {field}:>N are not supported yet (only on _time)"
            ));
        }
        if self.lex.eat("*") {
            if self.lex.bare(false).is_some() || self.lex.at_quote() {
                return Err("substring filters such as *text* are not supported yet".to_owned());
            }
            return if scoped {
                test(Test::Any)
            } else {
                Ok(Filter::All)
            };
        }
        if self.lex.at_quote() {
            let text = self.lex.quoted()?;
            let prefix = self.lex.eat("*");
            return test(match (text.is_empty(), prefix) {
                (true, true) => Test::Any,
                (true, false) => Test::Empty,
                (false, true) => Test::Prefix(text),
                (false, false) => Test::Phrase(text),
            });
        }
        let Some(word) = self.lex.bare(true) else {
            return Err(format!("missing filter: {}", self.unexpected()));
        };
        if self.lex.peek() == Some('(') {
            self.lex.eat("(");
            return match word {
                "in" => test(Test::In(self.value_list()?)),
                "i" => self.case_insensitive(field),
                other => Err(format!("unsupported filter function {other}(...)")),
            };
        }
        if self.lex.eat("*") {
            test(Test::Prefix(word.to_owned()))
        } else {
            test(Test::Phrase(word.to_owned()))
        }
    }

    /// The inside of `i(...)`.
    fn case_insensitive(&mut self, field: &str) -> Result<Filter> {
        self.lex.skip_space();
        let test = if self.lex.eat("*") {
            Test::Any
        } else {
            let Some(text) = self.lex.word_or_quoted(true)? else {
                return Err(format!("missing word in i(...): {}", self.unexpected()));
            };
            let text = text.to_lowercase();
            if self.lex.eat("*") {
                Test::IPrefix(text)
            } else {
                Test::IPhrase(text)
            }
        };
        self.expect(")")?;
        Ok(Filter::Field {
            name: field.to_owned(),
            test,
        })
    }

    /// A value after `=`, `~` and the like: quoted or bare.
    fn value(&mut self) -> Result<String> {
        match self.lex.word_or_quoted(true)? {
            Some(value) => Ok(value),
            None => Err(format!("missing value: {}", self.unexpected())),
        }
    }

    /// `a, "b", c)` after an opening parenthesis.
    fn value_list(&mut self) -> Result<Vec<String>> {
        let mut values = Vec::new();
        loop {
            self.lex.skip_space();
            if self.lex.eat(")") {
                return Ok(values);
            }
            if !values.is_empty() && !self.lex.eat(",") {
                return Err(format!("missing ',' or ')': {}", self.unexpected()));
            }
            self.lex.skip_space();
            values.push(self.value()?);
        }
    }

    fn time_filter(&mut self) -> Result<Filter> {
        self.lex.skip_space();
        let now = self.now;
        let (mut min, mut max) = match self.lex.peek() {
            Some(open @ ('[' | '(')) => {
                self.lex.eat(if open == '[' { "[" } else { "(" });
                let a = self.lex.raw_until_any(&[',', ')', ']']).to_owned();
                self.expect(",")?;
                let b = self.lex.raw_until_any(&[')', ']']).to_owned();
                let close = self.lex.peek();
                if !self.lex.eat("]") && !self.lex.eat(")") {
                    return Err(format!(
                        "missing ']' or ')' in the _time range: {}",
                        self.unexpected()
                    ));
                }
                let (a_start, _) = self.time_value(&a)?;
                let (b_start, b_end) = self.time_value(&b)?;
                let min = if open == '[' {
                    a_start
                } else {
                    a_start.saturating_add(1)
                };
                let max = if close == Some(']') {
                    b_end.saturating_sub(1)
                } else {
                    b_start.saturating_sub(1)
                };
                (min, max)
            }
            Some('<' | '>') => {
                let op = if self.lex.eat(">=") {
                    ">="
                } else if self.lex.eat("<=") {
                    "<="
                } else if self.lex.eat(">") {
                    ">"
                } else {
                    self.lex.eat("<");
                    "<"
                };
                let text = self.lex.raw_until(&[')', '|']);
                // `>5m` means older than five minutes: durations count back from now.
                let (at, older_is_greater) = match timeutil::parse_duration(text) {
                    Some(d) => (now.saturating_sub(d), true),
                    None => (self.time_value(text)?.0, false),
                };
                let op = match (op, older_is_greater) {
                    (">", true) => "<",
                    (">=", true) => "<=",
                    ("<", true) => ">",
                    ("<=", true) => ">=",
                    (op, _) => op,
                };
                match op {
                    ">" => (at.saturating_add(1), i64::MAX),
                    ">=" => (at, i64::MAX),
                    "<" => (i64::MIN, at.saturating_sub(1)),
                    _ => (i64::MIN, at),
                }
            }
            _ => {
                let start = self.lex.pos();
                if self.lex.eat_keyword("offset") {
                    self.lex.reset(start);
                    (i64::MIN, now)
                } else {
                    let text = self.lex.raw_until(&[')', '|']);
                    if let Some(d) = timeutil::parse_duration(text) {
                        (now.saturating_sub(d).saturating_add(1), now)
                    } else {
                        let (start, end) = self.time_value(text)?;
                        (start, end.saturating_sub(1))
                    }
                }
            }
        };
        self.lex.skip_space();
        if self.lex.eat_keyword("offset") {
            self.lex.skip_space();
            let text = self.lex.raw_until(&[')', '|']);
            let offset = timeutil::parse_duration(text)
                .ok_or_else(|| format!("cannot parse the _time offset {text:?}"))?;
            if min != i64::MIN {
                min = min.saturating_sub(offset);
            }
            if max != i64::MAX {
                max = max.saturating_sub(offset);
            }
        }
        Ok(Filter::Time { min, max })
    }

    /// A time in a `_time` filter: absolute (the interval it covers), Unix seconds or `now`.
    fn time_value(&self, text: &str) -> Result<(i64, i64)> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("now") {
            return Ok((self.now, self.now.saturating_add(1)));
        }
        if let Some(t) = timeutil::parse_unix_seconds(text) {
            return Ok((t, t.saturating_add(1)));
        }
        timeutil::parse_absolute(text).ok_or_else(|| format!("cannot parse time {text:?}"))
    }

    fn stream_selector(&mut self) -> Result<Filter> {
        self.expect("{")?;
        let mut matchers = Vec::new();
        loop {
            self.lex.skip_space();
            if self.lex.eat("}") {
                return Ok(Filter::Stream(matchers));
            }
            if !matchers.is_empty() {
                if !self.lex.eat(",") {
                    return Err(format!(
                        "missing ',' or '}}' in the stream filter: {}",
                        self.unexpected()
                    ));
                }
                self.lex.skip_space();
            }
            let name = if self.lex.at_quote() {
                self.lex.quoted()?
            } else {
                let name = self
                    .lex
                    .raw_until(&['=', '!', '~', ',', '}', '(', ')', '"', '\'', '`']);
                if name.is_empty() {
                    return Err(format!("missing stream field name: {}", self.unexpected()));
                }
                name.to_owned()
            };
            self.lex.skip_space();
            let op = if self.lex.eat("=~") {
                LabelOp::Re(anchored(&self.label_value()?)?)
            } else if self.lex.eat("!~") {
                LabelOp::NotRe(anchored(&self.label_value()?)?)
            } else if self.lex.eat("!=") {
                LabelOp::Ne(self.label_value()?)
            } else if self.lex.eat("=") {
                LabelOp::Eq(self.label_value()?)
            } else if self.lex.eat_keyword("in") {
                self.expect("(")?;
                LabelOp::In(self.value_list()?)
            } else if self.lex.eat_keyword("not_in") {
                self.expect("(")?;
                LabelOp::NotIn(self.value_list()?)
            } else {
                return Err(format!(
                    "missing =, !=, =~, !~, in or not_in after {name:?}: {}",
                    self.unexpected()
                ));
            };
            matchers.push(LabelMatcher { name, op });
        }
    }

    fn label_value(&mut self) -> Result<String> {
        self.lex.skip_space();
        if self.lex.at_quote() {
            return self.lex.quoted();
        }
        let value = self.lex.raw_until(&[',', '}']);
        if value.is_empty() {
            return Err(format!("missing stream field value: {}", self.unexpected()));
        }
        Ok(value.to_owned())
    }

    fn pipe(&mut self) -> Result<Pipe> {
        self.lex.skip_space();
        let start = self.lex.pos();
        let name = self
            .lex
            .bare(false)
            .ok_or_else(|| format!("missing pipe name: {}", self.unexpected()))?
            .to_ascii_lowercase();
        match name.as_str() {
            "fields" | "keep" => Ok(Pipe::Fields(self.field_list()?)),
            "delete" | "del" | "rm" | "drop" => Ok(Pipe::Delete(self.field_list()?)),
            "sort" | "order" => self.sort(),
            "limit" | "head" => Ok(Pipe::Limit(self.optional_number()?.unwrap_or(10))),
            "offset" | "skip" => match self.optional_number()? {
                Some(n) => Ok(Pipe::Offset(n)),
                None => Err(format!(
                    "missing number after offset: {}",
                    self.unexpected()
                )),
            },
            "stats" => self.stats(),
            "uniq" => self.uniq(),
            "filter" | "where" => Ok(Pipe::Filter(self.or(MSG, false)?)),
            _ if StatsKind::of(&name).is_some() || name == "by" => {
                // `| count()` is `| stats count()`.
                self.lex.reset(start);
                self.stats()
            }
            other => Err(format!("unsupported pipe {other:?}")),
        }
    }

    fn optional_number(&mut self) -> Result<Option<usize>> {
        self.lex.skip_space();
        let start = self.lex.pos();
        match self.lex.bare(false) {
            Some(word) if word.bytes().all(|b| b.is_ascii_digit()) => word
                .parse()
                .map(Some)
                .map_err(|_| format!("number {word} is too large")),
            _ => {
                self.lex.reset(start);
                Ok(None)
            }
        }
    }

    fn number(&mut self, after: &str) -> Result<usize> {
        match self.optional_number()? {
            Some(n) => Ok(n),
            None => Err(format!(
                "missing number after {after}: {}",
                self.unexpected()
            )),
        }
    }

    /// `a, b*, "c"` (optionally in parentheses).
    fn field_list(&mut self) -> Result<Vec<String>> {
        self.lex.skip_space();
        let parenthesised = self.lex.eat("(");
        let mut fields = Vec::new();
        loop {
            self.lex.skip_space();
            if parenthesised && self.lex.eat(")") {
                break;
            }
            if !fields.is_empty() {
                if !self.lex.eat(",") {
                    if parenthesised {
                        return Err(format!("missing ',' or ')': {}", self.unexpected()));
                    }
                    break;
                }
                self.lex.skip_space();
            }
            let Some(mut name) = self.lex.word_or_quoted(false)? else {
                if self.lex.eat("*") {
                    fields.push("*".to_owned());
                    continue;
                }
                return Err(format!("missing field name: {}", self.unexpected()));
            };
            if self.lex.eat("*") {
                name.push('*');
            }
            fields.push(name);
        }
        if fields.is_empty() {
            return Err("missing field names".to_owned());
        }
        Ok(fields)
    }

    fn sort(&mut self) -> Result<Pipe> {
        self.lex.skip_space();
        self.lex.eat_keyword("by");
        let mut spec = SortSpec::default();
        self.lex.skip_space();
        if self.lex.eat("(") {
            loop {
                self.lex.skip_space();
                if self.lex.eat(")") {
                    break;
                }
                if !spec.keys.is_empty() {
                    if !self.lex.eat(",") {
                        return Err(format!(
                            "missing ',' or ')' in sort by: {}",
                            self.unexpected()
                        ));
                    }
                    self.lex.skip_space();
                }
                let field = self.value()?;
                self.lex.skip_space();
                let desc = if self.lex.eat_keyword("desc") {
                    true
                } else {
                    self.lex.eat_keyword("asc");
                    false
                };
                spec.keys.push(SortKey { field, desc });
            }
        }
        loop {
            self.lex.skip_space();
            if self.lex.eat_keyword("desc") {
                spec.desc = true;
            } else if self.lex.eat_keyword("asc") {
                spec.desc = false;
            } else if self.lex.eat_keyword("limit") {
                spec.limit = Some(self.number("limit")?);
            } else if self.lex.eat_keyword("offset") {
                spec.offset = self.number("offset")?;
            } else {
                break;
            }
        }
        if spec.keys.is_empty() {
            return Err("sort needs by (field, ...)".to_owned());
        }
        Ok(Pipe::Sort(spec))
    }

    fn stats(&mut self) -> Result<Pipe> {
        self.lex.skip_space();
        let mut by = Vec::new();
        let explicit_by = self.lex.eat_keyword("by");
        self.lex.skip_space();
        if explicit_by || self.lex.peek() == Some('(') {
            self.expect("(")?;
            loop {
                self.lex.skip_space();
                if self.lex.eat(")") {
                    break;
                }
                if !by.is_empty() {
                    if !self.lex.eat(",") {
                        return Err(format!(
                            "missing ',' or ')' in stats by: {}",
                            self.unexpected()
                        ));
                    }
                    self.lex.skip_space();
                }
                let name = self.value()?;
                if name == TIME && self.lex.eat(":") {
                    by.push(self.time_bucket()?);
                } else {
                    by.push(GroupKey::Field(name));
                }
            }
        }
        let mut funcs: Vec<StatsFunc> = Vec::new();
        loop {
            self.lex.skip_space();
            if !funcs.is_empty() && !self.lex.eat(",") {
                break;
            }
            self.lex.skip_space();
            let func_name = self
                .lex
                .bare(false)
                .ok_or_else(|| format!("missing stats function: {}", self.unexpected()))?
                .to_ascii_lowercase();
            let kind = StatsKind::of(&func_name)
                .ok_or_else(|| format!("unsupported stats function {func_name:?}"))?;
            self.expect("(")?;
            let mut fields = Vec::new();
            loop {
                self.lex.skip_space();
                if self.lex.eat(")") {
                    break;
                }
                if !fields.is_empty() && !self.lex.eat(",") {
                    return Err(format!(
                        "missing ',' or ')' in {func_name}(...): {}",
                        self.unexpected()
                    ));
                }
                self.lex.skip_space();
                if self.lex.eat("*") {
                    continue;
                }
                fields.push(self.value()?);
            }
            if kind != StatsKind::Count && fields.is_empty() {
                return Err(format!("{func_name}() needs a field"));
            }
            self.lex.skip_space();
            let name = if self.lex.eat_keyword("as") {
                self.lex.skip_space();
                self.value()?
            } else if matches!(self.lex.peek(), Some(',' | '|') | None) {
                let args = if fields.is_empty() {
                    "*".to_owned()
                } else {
                    fields.join(", ")
                };
                format!("{func_name}({args})")
            } else {
                self.value()?
            };
            funcs.push(StatsFunc { kind, fields, name });
        }
        if funcs.is_empty() {
            return Err("stats needs a function such as count()".to_owned());
        }
        Ok(Pipe::Stats(StatsSpec { by, funcs }))
    }

    /// `1m [offset 30s]` after `_time:` in `stats by (...)`.
    fn time_bucket(&mut self) -> Result<GroupKey> {
        let text = self.lex.raw_until(&[',', ')']);
        let step = match timeutil::parse_duration(text) {
            Some(step) if step > 0 => step,
            _ => return Err(format!("cannot parse the _time bucket {text:?}")),
        };
        self.lex.skip_space();
        let offset = if self.lex.eat_keyword("offset") {
            self.lex.skip_space();
            let text = self.lex.raw_until(&[',', ')']);
            timeutil::parse_duration(text)
                .ok_or_else(|| format!("cannot parse the bucket offset {text:?}"))?
        } else {
            0
        };
        Ok(GroupKey::Time { step, offset })
    }

    fn uniq(&mut self) -> Result<Pipe> {
        self.lex.skip_space();
        self.lex.eat_keyword("by");
        let by = self.field_list()?;
        self.lex.skip_space();
        let limit = if self.lex.eat_keyword("limit") {
            Some(self.number("limit")?)
        } else {
            None
        };
        Ok(Pipe::Uniq { by, limit })
    }
}

fn regex(pattern: &str) -> Result<Regex> {
    RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX)
        .build()
        .map_err(|e| format!("cannot parse regexp {pattern:?}: {e}"))
}

/// Stream selectors match the whole value, as Prometheus label matchers do.
fn anchored(pattern: &str) -> Result<Regex> {
    regex(&format!("^(?:{pattern})$"))
}
