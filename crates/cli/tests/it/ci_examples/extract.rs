//! Finding the `devlic` commands in a CI file: an order-keeping YAML tree, the walk that collects
//! commands, variables and matrix entries, and the bits of shell the examples use (cutting a line
//! at its first operator, `$VAR` expansion, quote-aware word splitting).
//!
//! The rules, walking each document in order (the examples are written to fit them):
//! * text fields `run`, `script`, `before_script`, `inlineScript`, `bash` (a string or a list of
//!   strings; anything else is an error): every line whose first word is `devlic` is one command,
//!   ending at the first shell operator outside quotes. No line continuations.
//! * a step whose `uses` is the devlic action (`.../devlic@...`, `.` or `./`) with
//!   `with.command`: `devlic <command> <args>`, args split on whitespace as the action does; a
//!   `plan` without `--out` gets the `--out` the action adds.
//! * a container whose `command` list starts with `devlic`: `command` + `args`.
//! * variables: literal `env`/`variables` values (the first definition of a name wins), also
//!   ones made of `${{ matrix.X }}`; `strategy.matrix.include` entries merge by `tenant`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// The keys whose values are shell text (GitHub, GitLab, Azure DevOps).
const TEXT_KEYS: [&str; 5] = ["run", "script", "before_script", "inlineScript", "bash"];
/// Where a command ends; longer operators first so `2>>` is not read as `2>`.
const SHELL_OPS: [&str; 9] = ["2>>", "2>", ">>", ">", "||", "|", "&&", ";", "#"];

/// A YAML node whose mappings keep document order. `serde_json::Value` sorts keys, which would
/// run a workflow's `correct` job before the `drift` job that writes its plan.
#[derive(Debug)]
pub enum Node {
    /// `~`, `null` or an empty value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number, as written.
    Num(String),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, keys in document order (scalar keys only).
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A string or number as text (what a shell variable would hold).
    fn text(&self) -> Option<&str> {
        match self {
            Node::Str(s) | Node::Num(s) => Some(s),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "boolean",
            Node::Num(_) => "number",
            Node::Str(_) => "string",
            Node::Seq(_) => "list",
            Node::Map(_) => "map",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Num(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Num(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Num(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Node, Node>()? {
            let key = match key {
                Node::Str(s) | Node::Num(s) => s,
                Node::Bool(b) => b.to_string(),
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "a {} as a mapping key",
                        other.kind()
                    )));
                }
            };
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// Where a command came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A line of shell text.
    Shell,
    /// The composite action's `with.command`.
    Action,
    /// A container's `command` + `args`.
    Container,
}

/// One `devlic ...` command line, before variable expansion.
#[derive(Debug)]
pub struct Found {
    pub kind: Kind,
    pub raw: String,
}

/// Everything a file's walk collects.
#[derive(Debug, Default)]
pub struct Extracted {
    /// Commands in document order.
    pub commands: Vec<Found>,
    /// Literal `env`/`variables` values; the first definition of a name wins.
    pub env: BTreeMap<String, String>,
    /// GitHub matrix entries, merged by `tenant`.
    pub matrix: Vec<BTreeMap<String, String>>,
}

/// Whether a `uses:` names the devlic action (a release of it, or the local checkout).
fn is_devlic_action(uses: &str) -> bool {
    uses == "." || uses == "./" || uses.contains("/devlic@")
}

/// `text` without its `${{ matrix.X }}` expressions.
fn strip_matrix(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        match tail.find("}}") {
            Some(end) if matrix_name(&tail[3..end]).is_some() => rest = &tail[end + 2..],
            _ => {
                out.push_str("${{");
                rest = &tail[3..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `X` of an expression body ` matrix.X `, if that is all it is.
fn matrix_name(body: &str) -> Option<&str> {
    let name = body.trim().strip_prefix("matrix.")?;
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    ok.then_some(name)
}

impl Extracted {
    /// Walks a document, collecting in document order.
    pub fn walk(&mut self, node: &Node) -> Result<(), String> {
        match node {
            Node::Map(entries) => {
                self.collect_variables(node);
                self.collect_matrix(node);
                self.collect_action(node);
                self.collect_container(node);
                for (key, value) in entries {
                    if TEXT_KEYS.contains(&key.as_str()) {
                        self.collect_text(key, value)?;
                    } else if matches!(value, Node::Map(_) | Node::Seq(_)) {
                        self.walk(value)?;
                    }
                }
            }
            Node::Seq(items) => {
                for item in items {
                    self.walk(item)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn collect_variables(&mut self, node: &Node) {
        for key in ["env", "variables"] {
            let Some(Node::Map(vars)) = node.get(key) else {
                continue;
            };
            for (name, value) in vars {
                // Literal values, and `${{ matrix.X }}`, which expand() resolves per entry;
                // anything else GitHub evaluates (`${{ vars.X }}`) is unknown here.
                if let Some(text) = value.text()
                    && !strip_matrix(text).contains("${{")
                {
                    self.env
                        .entry(name.clone())
                        .or_insert_with(|| text.to_owned());
                }
            }
        }
    }

    fn collect_matrix(&mut self, node: &Node) {
        let Some(Node::Seq(include)) = node
            .get("strategy")
            .and_then(|s| s.get("matrix"))
            .and_then(|m| m.get("include"))
        else {
            return;
        };
        for entry in include {
            let Node::Map(fields) = entry else { continue };
            let entry: BTreeMap<String, String> = fields
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.text()?.to_owned())))
                .collect();
            // Jobs share entries by `tenant` (the plan job has the plan app's id, the apply
            // job the apply app's): one merged entry, so one simulator, per tenant.
            match self
                .matrix
                .iter_mut()
                .find(|m| m.get("tenant") == entry.get("tenant"))
            {
                Some(same) => same.extend(entry),
                None => self.matrix.push(entry),
            }
        }
    }

    fn collect_action(&mut self, node: &Node) {
        let Some(Node::Str(uses)) = node.get("uses") else {
            return;
        };
        let Some(with) = node.get("with") else { return };
        let Some(command) = with.get("command").and_then(Node::text) else {
            return;
        };
        if !is_devlic_action(uses) || command.is_empty() {
            return;
        }
        let args = with.get("args").and_then(Node::text).unwrap_or("");
        let mut line = format!("devlic {command} {args}").trim().to_owned();
        let has_out = line
            .split_whitespace()
            .any(|w| w == "--out" || w.starts_with("--out="));
        if command == "plan" && !has_out {
            // As action.yml does, so `plan-file` can be handed to `apply --plan`.
            line.push_str(
                r#" --out "$RUNNER_TEMP/devlic-plan-$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT.json""#,
            );
        }
        self.commands.push(Found {
            kind: Kind::Action,
            raw: line,
        });
    }

    fn collect_container(&mut self, node: &Node) {
        let Some(Node::Seq(command)) = node.get("command") else {
            return;
        };
        if command.first().and_then(Node::text) != Some("devlic") {
            return;
        }
        let args = match node.get("args") {
            Some(Node::Seq(args)) => args.as_slice(),
            _ => &[],
        };
        let words: Vec<String> = command
            .iter()
            .chain(args)
            .map(|w| quote(w.text().unwrap_or_default()))
            .collect();
        self.commands.push(Found {
            kind: Kind::Container,
            raw: words.join(" "),
        });
    }

    fn collect_text(&mut self, key: &str, value: &Node) -> Result<(), String> {
        let texts = match value {
            Node::Seq(items) => items.iter().collect(),
            one => vec![one],
        };
        for text in texts {
            let Node::Str(text) = text else {
                // e.g. a GitLab script line with an unquoted `: ` that YAML reads as a map
                return Err(format!(
                    "`{key}` holds a {}, not a command line (quote the line)",
                    text.kind()
                ));
            };
            for line in text.lines().map(str::trim) {
                let is_devlic = line
                    .strip_prefix("devlic")
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace));
                if is_devlic {
                    self.commands.push(Found {
                        kind: Kind::Shell,
                        raw: cut_at_shell_operator(line).to_owned(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The command part of a shell line: up to the first operator outside quotes. `#` and `2>`
/// count only where a word starts (`x#y` is a word, `x2>f` is `x2` then `>f`); the others
/// end a command anywhere, as in the shell (`devlic validate x; echo`).
pub fn cut_at_shell_operator(line: &str) -> &str {
    let mut quote = None;
    let mut word_start = true;
    for (i, ch) in line.char_indices() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None if ch == '\'' || ch == '"' => quote = Some(ch),
            None => {
                let rest = &line[i..];
                let cut = SHELL_OPS.iter().any(|op| {
                    rest.starts_with(op)
                        && (word_start || !(op.starts_with('#') || op.starts_with('2')))
                });
                if cut {
                    return line[..i].trim_end();
                }
            }
        }
        word_start = ch.is_whitespace();
    }
    line.trim_end()
}

/// Expands `${{ matrix.X }}` from `entry`, and `$NAME`/`${NAME}` from `env` (recursively).
pub fn expand(
    text: &str,
    env: &BTreeMap<String, String>,
    entry: &BTreeMap<String, String>,
) -> Result<String, String> {
    expand_depth(text, env, entry, 0)
}

fn expand_depth(
    text: &str,
    env: &BTreeMap<String, String>,
    entry: &BTreeMap<String, String>,
    depth: usize,
) -> Result<String, String> {
    if depth > 8 {
        return Err(format!(
            "variables refer to each other in a loop at `{text}`"
        ));
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(body) = tail.strip_prefix("${{") {
            let end = body
                .find("}}")
                .ok_or_else(|| format!("unclosed `${{{{` in `{text}`"))?;
            let name = matrix_name(&body[..end])
                .ok_or_else(|| format!("`${{{{{}}}}}` is not a matrix value", &body[..end]))?;
            let value = entry
                .get(name)
                .ok_or_else(|| format!("matrix.{name} is not in the matrix"))?;
            out.push_str(value);
            rest = &body[end + 2..];
            continue;
        }
        let (name, used) = match tail[1..].strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) if end > 0 && braced[..end].chars().all(is_word) => {
                    (&braced[..end], end + 3)
                }
                _ => ("", 0),
            },
            None => {
                let len = tail[1..]
                    .find(|c: char| !is_word(c))
                    .unwrap_or(tail.len() - 1);
                (&tail[1..=len], len + 1)
            }
        };
        if name.is_empty() {
            // Not a variable (`$?`, `${args[@]}`): kept as written, like the shell would not.
            out.push('$');
            rest = &tail[1..];
            continue;
        }
        let value = env
            .get(name)
            .ok_or_else(|| format!("unknown variable ${name}"))?;
        out.push_str(&expand_depth(value, env, entry, depth + 1)?);
        rest = &tail[used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Splits a command line into words as a POSIX shell would (quotes and backslashes; no
/// expansion, which `expand` did).
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(format!("unclosed ' in `{line}`")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('\\' | '"' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err(format!("unclosed \" in `{line}`")),
                        },
                        Some(c) => w.push(c),
                        None => return Err(format!("unclosed \" in `{line}`")),
                    }
                }
            }
            '\\' => {
                let c = chars
                    .next()
                    .ok_or_else(|| format!("trailing \\ in `{line}`"))?;
                word.get_or_insert_with(String::new).push(c);
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// Quotes a word for `split` (single quotes unless it only has safe characters).
fn quote(word: &str) -> String {
    let safe = |c: char| c.is_alphanumeric() || "_@%+=:,./-".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r#"'"'"'"#))
    }
}

#[test]
fn cuts_at_the_first_operator_outside_quotes() {
    let cut = cut_at_shell_operator;
    assert_eq!(
        cut(r#"devlic plan "a > b" --x > out.md"#),
        r#"devlic plan "a > b" --x"#
    );
    assert_eq!(cut("devlic plan x 2>err.txt"), "devlic plan x");
    assert_eq!(cut("devlic plan x || { echo; }"), "devlic plan x");
    assert_eq!(cut("devlic plan x # note"), "devlic plan x");
    assert_eq!(cut("devlic plan x#y --a=b|c"), "devlic plan x#y --a=b");
    assert_eq!(cut("devlic plan x2>f"), "devlic plan x2");
    assert_eq!(cut("devlic validate 'a;b'; echo"), "devlic validate 'a;b'");
}

#[test]
fn expands_and_splits_like_the_shell() {
    let env = BTreeMap::from([
        ("SPEC".to_owned(), "${{ matrix.spec }}".to_owned()),
        ("DIR".to_owned(), "/w t".to_owned()),
    ]);
    let entry = BTreeMap::from([("spec".to_owned(), "tenants/a".to_owned())]);
    let line = expand(
        r#"devlic plan "$SPEC" --out "${DIR}/p.json" $?"#,
        &env,
        &entry,
    )
    .unwrap();
    assert_eq!(
        split(&line).unwrap(),
        ["devlic", "plan", "tenants/a", "--out", "/w t/p.json", "$?"]
    );
    assert!(
        expand("devlic plan $NOPE", &env, &entry)
            .unwrap_err()
            .contains("$NOPE")
    );
    assert!(expand("${{ vars.X }}", &env, &entry).is_err());
    assert_eq!(
        split(r#"a 'b "c' "d \"e\" \n" f\ g"#).unwrap(),
        ["a", r#"b "c"#, r#"d "e" \n"#, "f g"]
    );
    assert!(split("a 'b").is_err());
    assert_eq!(split(&quote("it's a")).unwrap(), ["it's a"]);
}
