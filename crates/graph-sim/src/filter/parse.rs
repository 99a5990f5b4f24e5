//! The `$filter` tokenizer and recursive-descent parser (`or` < `and` < `not`/parentheses <
//! comparisons, `in (...)`, functions and `any` lambdas).

use super::{Expr, FilterError, Lit, syntax};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    Colon,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, FilterError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(syntax("unterminated string literal")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '$' | '-') => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || matches!(chars[i], '_' | '/' | '.' | '$' | '-'))
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
            other => {
                return Err(syntax(format!(
                    "unexpected character '{other}' at position {i}"
                )));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }
    fn expect(&mut self, t: Tok) -> Result<(), FilterError> {
        match self.next() {
            Some(got) if got == t => Ok(()),
            got => Err(syntax(format!("expected {t:?}, found {got:?}"))),
        }
    }
    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            self.expect(Tok::RParen)?;
            return Ok(e);
        }
        self.primary()
    }
    fn literal(&mut self) -> Result<Lit, FilterError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Word(w)) => {
                if w.eq_ignore_ascii_case("true") {
                    Ok(Lit::Bool(true))
                } else if w.eq_ignore_ascii_case("false") {
                    Ok(Lit::Bool(false))
                } else if w.eq_ignore_ascii_case("null") {
                    Ok(Lit::Null)
                } else if uuid::Uuid::parse_str(&w).is_ok() && w.len() == 36 {
                    Ok(Lit::Guid(w.to_ascii_lowercase()))
                } else if w
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '-' || c == '.')
                {
                    Ok(Lit::Num(w))
                } else {
                    Err(syntax(format!("'{w}' is not a literal")))
                }
            }
            got => Err(syntax(format!("expected a literal, found {got:?}"))),
        }
    }
    fn primary(&mut self) -> Result<Expr, FilterError> {
        let Some(Tok::Word(word)) = self.next() else {
            return Err(syntax("expected a property or function"));
        };
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            if let Some(collection) = word
                .strip_suffix("/any")
                .or_else(|| word.strip_suffix("/all"))
            {
                if word.ends_with("/all") {
                    return Err(FilterError {
                        code: "Request_UnsupportedQuery",
                        message: "Unsupported query: the 'all' lambda operator is not supported."
                            .to_owned(),
                    });
                }
                let Some(Tok::Word(var)) = self.next() else {
                    return Err(syntax("expected a lambda variable"));
                };
                self.expect(Tok::Colon)?;
                let body = self.or()?;
                self.expect(Tok::RParen)?;
                return Ok(Expr::Any {
                    collection: collection.to_owned(),
                    var,
                    body: Box::new(body),
                });
            }
            let Some(Tok::Word(prop)) = self.next() else {
                return Err(syntax(format!("expected a property in {word}(...)")));
            };
            self.expect(Tok::Comma)?;
            let arg = self.literal()?;
            self.expect(Tok::RParen)?;
            return Ok(Expr::Func {
                name: word.to_ascii_lowercase(),
                prop,
                arg,
            });
        }
        if self.keyword("eq") || self.keyword("ne") {
            let ne = self.keyword("ne");
            self.pos += 1;
            let lit = self.literal()?;
            return Ok(Expr::Cmp {
                prop: word,
                ne,
                lit,
            });
        }
        if self.keyword("in") {
            self.pos += 1;
            self.expect(Tok::LParen)?;
            let mut lits = vec![self.literal()?];
            while self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                lits.push(self.literal()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Expr::In { prop: word, lits });
        }
        match self.peek() {
            Some(Tok::Word(op)) => Err(FilterError {
                code: "Request_UnsupportedQuery",
                message: format!(
                    "Unsupported query: operator '{op}' is not supported on property '{word}'."
                ),
            }),
            other => Err(syntax(format!(
                "expected an operator after '{word}', found {other:?}"
            ))),
        }
    }
}

/// Parses a `$filter` value.
pub(crate) fn parse(s: &str) -> Result<Expr, FilterError> {
    let mut p = Parser {
        toks: tokenize(s)?,
        pos: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(syntax(format!("unexpected {:?}", p.toks[p.pos])));
    }
    Ok(e)
}
