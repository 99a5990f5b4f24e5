//! What the CI examples promise, checked on the parsed files (no runner exists here):
//!
//! * the merge path: on a push to main the apply job runs; on a pull/merge request only
//!   validation and planning run, never an apply (GitHub Actions, Azure DevOps, GitLab). Job
//!   and stage conditions are evaluated for each event by a small evaluator of the expression
//!   forms the examples use; a condition it cannot read fails the test instead of guessing.
//! * Azure DevOps: every stage says what it depends on (`dependsOn`), so a stage never waits on
//!   one that its event skips.
//! * GitLab: the nightly pipeline deploys (`environment`) only in the drift child pipeline.
//! * GitHub: every `uses:` is pinned by a full commit SHA with a `# vX.Y.Z` comment, except the
//!   `your-org/devlic` placeholder, which must name the workspace version and say to pin it;
//!   workflows grant no permission at the top and each job states its own; no
//!   `pull_request_target`.
//! * the versions the examples download equal the workspace version.

use std::collections::BTreeMap;
use std::path::Path;

use super::extract::Node;
use crate::support::root;

// ---------- reading ----------

fn read(rel: &str) -> (String, Node) {
    let text = std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let doc: Node = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
    (text, doc)
}

fn entries(node: Option<&Node>) -> &[(String, Node)] {
    match node {
        Some(Node::Map(e)) => e,
        _ => &[],
    }
}

fn items(node: Option<&Node>) -> &[Node] {
    match node {
        Some(Node::Seq(s)) => s,
        _ => &[],
    }
}

fn text(node: Option<&Node>) -> Option<&str> {
    match node {
        Some(Node::Str(s)) | Some(Node::Num(s)) => Some(s),
        _ => None,
    }
}

/// Every string under `node` (scripts, commands, inputs).
fn strings<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
    match node {
        Node::Str(s) => out.push(s),
        Node::Seq(items) => items.iter().for_each(|n| strings(n, out)),
        Node::Map(entries) => entries.iter().for_each(|(_, n)| strings(n, out)),
        _ => {}
    }
}

/// Whether a job, stage or step tree runs `devlic apply` (a shell line or the action's input).
fn runs_apply(node: &Node) -> bool {
    let mut all = Vec::new();
    strings(node, &mut all);
    let shell = all.iter().any(|s| {
        s.lines().any(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .starts_with("devlic apply")
        })
    });
    shell || all.iter().any(|s| s.trim() == "apply")
}

fn workspace_version() -> String {
    let toml = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let section = &toml[toml.find("[workspace.package]").unwrap()..];
    let line = section
        .lines()
        .find(|l| l.starts_with("version = "))
        .unwrap();
    line.trim_start_matches("version = ")
        .trim_matches('"')
        .to_owned()
}

// ---------- a small evaluator of GitHub `if:` and GitLab `rules: if:` ----------

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Op(&'static str),
}

fn tokenize(expr: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .ok_or_else(|| format!("unclosed string in {expr:?}"))?;
            out.push(Token::Str(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if let Some(op) = ["==", "!=", "&&", "||"]
            .into_iter()
            .find(|op| chars[i..].starts_with(&op.chars().collect::<Vec<_>>()))
        {
            out.push(Token::Op(op));
            i += 2;
        } else if let Some(op) = ["!", "(", ")"].into_iter().find(|op| op.starts_with(c)) {
            out.push(Token::Op(op));
            i += 1;
        } else if c.is_alphanumeric() || c == '$' || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || "$_.-".contains(chars[i])) {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected {c:?} in {expr:?}"));
        }
    }
    Ok(out)
}

/// Evaluates `||`, `&&`, `!`, `==`, `!=`, parentheses, strings, variables/contexts (looked up
/// in `vars`; unknown ones are empty) and `always()`/`success()` (true).
struct Infix<'a> {
    tokens: Vec<Token>,
    at: usize,
    vars: &'a BTreeMap<&'a str, &'a str>,
}

impl Infix<'_> {
    fn eval(expr: &str, vars: &BTreeMap<&str, &str>) -> Result<bool, String> {
        let expr = expr.trim();
        let expr = expr
            .strip_prefix("${{")
            .and_then(|e| e.strip_suffix("}}"))
            .unwrap_or(expr);
        let mut p = Infix {
            tokens: tokenize(expr)?,
            at: 0,
            vars,
        };
        let v = p.or()?;
        if p.at != p.tokens.len() {
            return Err(format!("cannot read {expr:?}"));
        }
        Ok(!v.is_empty())
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Result<String, String> {
        let mut v = self.and()?;
        while self.peek() == Some(&Token::Op("||")) {
            self.at += 1;
            let r = self.and()?;
            if v.is_empty() {
                v = r;
            }
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<String, String> {
        let mut v = self.cmp()?;
        while self.peek() == Some(&Token::Op("&&")) {
            self.at += 1;
            let r = self.cmp()?;
            if !v.is_empty() {
                v = r;
            }
        }
        Ok(v)
    }

    fn cmp(&mut self) -> Result<String, String> {
        let l = self.unary()?;
        match self.peek() {
            Some(Token::Op(op @ ("==" | "!="))) => {
                let op = *op;
                self.at += 1;
                let r = self.unary()?;
                Ok(bool_text((l.eq_ignore_ascii_case(&r)) == (op == "==")))
            }
            _ => Ok(l),
        }
    }

    fn unary(&mut self) -> Result<String, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Op("!")) => {
                self.at += 1;
                Ok(bool_text(self.unary()?.is_empty()))
            }
            Some(Token::Op("(")) => {
                self.at += 1;
                let v = self.or()?;
                if self.peek() != Some(&Token::Op(")")) {
                    return Err("missing )".to_owned());
                }
                self.at += 1;
                Ok(v)
            }
            Some(Token::Str(s)) => {
                self.at += 1;
                Ok(s)
            }
            Some(Token::Word(w)) if matches!(w.as_str(), "always" | "success") => {
                self.at += 1;
                if self.tokens.get(self.at..self.at + 2) != Some(&[Token::Op("("), Token::Op(")")])
                {
                    return Err(format!("{w} without ()"));
                }
                self.at += 2;
                Ok("true".to_owned())
            }
            Some(Token::Word(w)) => {
                self.at += 1;
                let name = w.trim_start_matches('$');
                Ok(self.vars.get(name).copied().unwrap_or("").to_owned())
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

fn bool_text(b: bool) -> String {
    if b { "true".to_owned() } else { String::new() }
}

// ---------- GitHub Actions ----------

const GITHUB: [&str; 5] = [
    "examples/ci/github/pr-plan.yml",
    "examples/ci/github/pr-plan-comment.yml",
    "examples/ci/github/apply-on-merge.yml",
    "examples/ci/github/nightly-drift.yml",
    "examples/ci/github/matrix-tenants.yml",
];

/// The `on:` events of a workflow, with a push's branch filter.
fn triggered(doc: &Node, event: &str, branch: &str) -> bool {
    let on = on(doc);
    match on {
        Some(Node::Str(s)) => s == event,
        Some(Node::Seq(_)) => items(on).iter().any(|n| text(Some(n)) == Some(event)),
        Some(Node::Map(_)) => match on.and_then(|o| o.get(event)) {
            None => false,
            Some(filter) => {
                let branches = items(filter.get("branches"));
                branches.is_empty() || branches.iter().any(|b| text(Some(b)) == Some(branch))
            }
        },
        _ => false,
    }
}

/// A workflow's `on:` (a YAML 1.1 reader may have turned the key into `true`).
fn on(doc: &Node) -> Option<&Node> {
    doc.get("on").or_else(|| doc.get("true"))
}

/// The jobs of a workflow that run for an event, in dependency order.
fn github_jobs_run<'a>(doc: &'a Node, vars: &BTreeMap<&str, &str>) -> Vec<&'a str> {
    let mut ran: Vec<&str> = Vec::new();
    for (name, job) in entries(doc.get("jobs")) {
        let needs: Vec<&str> = match job.get("needs") {
            Some(Node::Str(s)) => vec![s],
            n => items(n).iter().filter_map(|n| text(Some(n))).collect(),
        };
        let condition = text(job.get("if")).unwrap_or("success()");
        let deps_ok = condition.contains("always()") || needs.iter().all(|n| ran.contains(n));
        // A job that did not run has no outputs.
        let mut known = vars.clone();
        known.retain(|k, _| {
            k.strip_prefix("needs.")
                .and_then(|rest| rest.split('.').next())
                .is_none_or(|job| ran.contains(&job))
        });
        let cond = Infix::eval(condition, &known).unwrap_or_else(|e| panic!("job {name}: {e}"));
        if deps_ok && cond {
            ran.push(name);
        }
    }
    ran
}

/// What runs, over all GitHub workflows, for one event: (file, job, runs apply).
fn github_event(event: &str, vars: &BTreeMap<&str, &str>) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for rel in GITHUB {
        let (_, doc) = read(rel);
        if !triggered(&doc, event, "main") {
            continue;
        }
        for job in github_jobs_run(&doc, vars) {
            let node = doc.get("jobs").and_then(|j| j.get(job)).unwrap();
            out.push((rel.to_owned(), job.to_owned(), runs_apply(node)));
        }
    }
    out
}

#[test]
fn github_merge_path_applies_and_pull_requests_only_plan() {
    let push = BTreeMap::from([
        ("github.event_name", "push"),
        ("github.ref", "refs/heads/main"),
        ("github.repository", "org/repo"),
    ]);
    let ran = github_event("push", &push);
    let applies: Vec<_> = ran.iter().filter(|(_, _, a)| *a).collect();
    assert!(
        applies
            .iter()
            .any(|(f, j, _)| f.ends_with("apply-on-merge.yml") && j == "apply"),
        "a push to main does not apply: {ran:?}"
    );
    assert!(
        applies
            .iter()
            .any(|(f, j, _)| f.ends_with("matrix-tenants.yml") && j == "apply"),
        "{ran:?}"
    );
    assert!(
        !ran.iter().any(|(f, _, _)| f.ends_with("pr-plan.yml")),
        "{ran:?}"
    );

    for head in ["org/repo", "someone/fork"] {
        let pr = BTreeMap::from([
            ("github.event_name", "pull_request"),
            ("github.ref", "refs/pull/7/merge"),
            ("github.repository", "org/repo"),
            ("github.event.pull_request.head.repo.full_name", head),
            // The plan job's output when it ran (a plan with changes).
            ("needs.plan.outputs.code", "2"),
        ]);
        let ran = github_event("pull_request", &pr);
        assert!(
            ran.iter().all(|(_, _, apply)| !apply),
            "a pull request from {head} applies: {ran:?}"
        );
        let jobs: Vec<&str> = ran
            .iter()
            .filter(|(f, _, _)| f.ends_with("pr-plan.yml"))
            .map(|(_, j, _)| j.as_str())
            .collect();
        if head == "org/repo" {
            assert_eq!(jobs, ["validate", "plan", "comment"], "{ran:?}");
        } else {
            // A fork is validated only: it never signs in, so it sees nothing of the tenant.
            assert_eq!(jobs, ["validate"], "{ran:?}");
            assert!(
                !ran.iter()
                    .any(|(f, j, _)| f.ends_with("matrix-tenants.yml") && j == "plan"),
                "{ran:?}"
            );
        }
    }
}

/// `owner/repo@<40 hex> # vX.Y.Z`, or the devlic placeholder at the workspace version.
fn check_uses(rel: &str, line: &str, version: &str) -> Result<(), String> {
    let rest = line
        .trim()
        .trim_start_matches("- ")
        .trim_start_matches("uses:")
        .trim();
    let (reference, comment) = rest.split_once('#').unwrap_or((rest, ""));
    let reference = reference.trim();
    let comment = comment.trim();
    let Some((action, pin)) = reference.split_once('@') else {
        return Err(format!("{rel}: `{reference}` is not pinned"));
    };
    if action == "your-org/devlic" {
        return if pin == format!("v{version}") && comment.contains("commit SHA") {
            Ok(())
        } else {
            Err(format!(
                "{rel}: the devlic placeholder must be `your-org/devlic@v{version} # ...commit SHA...`, got `{line}`"
            ))
        };
    }
    let sha = pin.len() == 40
        && pin
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    let tag = comment
        .strip_prefix('v')
        .map(|v| {
            v.split('.').count() == 3
                && v.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .unwrap_or(false);
    if sha && tag {
        Ok(())
    } else {
        Err(format!(
            "{rel}: `{line}` is not `owner/repo@<full commit SHA> # vX.Y.Z`"
        ))
    }
}

fn github_files() -> Vec<String> {
    let mut files: Vec<String> = GITHUB.iter().map(|s| (*s).to_owned()).collect();
    files.push("action.yml".to_owned());
    for entry in std::fs::read_dir(root().join(".github/workflows")).unwrap() {
        let path = entry.unwrap().path();
        files.push(path.strip_prefix(root()).unwrap().display().to_string());
    }
    files
}

#[test]
fn every_action_is_pinned_by_commit_sha() {
    let version = workspace_version();
    let mut checked = 0;
    let mut problems = Vec::new();
    for rel in github_files() {
        let (text, doc) = read(&rel);
        let mut parsed = Vec::new();
        uses_values(&doc, &mut parsed);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| {
                let t = l.trim().trim_start_matches("- ");
                t.starts_with("uses:")
            })
            .collect();
        // Every `uses` the YAML parser sees is one of the lines checked below.
        assert_eq!(parsed.len(), lines.len(), "{rel}: {parsed:?}");
        for line in lines {
            checked += 1;
            if let Err(e) = check_uses(&rel, line, &version) {
                problems.push(e);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 20, "only {checked} `uses:` found");
    // The check itself.
    for bad in [
        "uses: actions/checkout@v4",
        "uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
        "uses: actions/checkout@3d3c42e5 # v7.0.1",
        "uses: actions/checkout@main # v7.0.1",
        "uses: your-org/devlic@v0.0.9 # replace with the release's commit SHA",
    ] {
        assert!(check_uses("t", bad, &version).is_err(), "{bad}");
    }
}

fn uses_values<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
    match node {
        Node::Map(entries) => {
            for (k, v) in entries {
                match (k.as_str(), v) {
                    ("uses", Node::Str(s)) => out.push(s),
                    _ => uses_values(v, out),
                }
            }
        }
        Node::Seq(items) => items.iter().for_each(|n| uses_values(n, out)),
        _ => {}
    }
}

#[test]
fn github_permissions_are_per_job_and_forks_get_no_target_trigger() {
    for rel in github_files().iter().filter(|f| *f != "action.yml") {
        let (_, doc) = read(rel);
        assert!(!triggered(&doc, "pull_request_target", ""), "{rel}");
        assert!(
            matches!(doc.get("permissions"), Some(Node::Map(e)) if e.is_empty()),
            "{rel}: the workflow must grant nothing at the top (`permissions: {{}}`)"
        );
        for (name, job) in entries(doc.get("jobs")) {
            let perms = entries(job.get("permissions"));
            assert!(!perms.is_empty(), "{rel}: job {name} states no permissions");
            for (scope, level) in perms {
                let level = text_of(level);
                assert!(
                    level == "read" || level == "write",
                    "{rel}: {name}: {scope}: {level}"
                );
                if level == "write" {
                    assert!(
                        [
                            "id-token",
                            "pull-requests",
                            "issues",
                            "contents",
                            "packages",
                            "attestations"
                        ]
                        .contains(&scope.as_str()),
                        "{rel}: {name} writes {scope}"
                    );
                }
            }
            // Only the release may write contents; a job that signs in to Graph must not be
            // able to write to the repository or the pull request.
            let writes = |s: &str| perms.iter().any(|(k, v)| k == s && text_of(v) == "write");
            if writes("contents") {
                assert_eq!(rel, ".github/workflows/release.yml", "{name}");
            }
            if writes("id-token") && !rel.ends_with("release.yml") {
                assert!(
                    !writes("pull-requests") && !writes("issues") && !writes("contents"),
                    "{rel}: {name} signs in and writes"
                );
            }
        }
    }
}

fn text_of(node: &Node) -> &str {
    text(Some(node)).unwrap_or("")
}

// ---------- Azure DevOps ----------

/// Azure condition expressions: functions (`and`, `or`, `not`, `eq`, `ne`, `in`,
/// `succeeded`, `always`, ...), `variables['X']`, quoted strings.
struct Azure<'a> {
    text: &'a [u8],
    at: usize,
    vars: &'a BTreeMap<&'a str, &'a str>,
    deps_ok: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum AzValue {
    Str(String),
    Bool(bool),
}

impl AzValue {
    fn truthy(&self) -> bool {
        match self {
            AzValue::Bool(b) => *b,
            AzValue::Str(s) => !s.is_empty(),
        }
    }
    fn text(&self) -> String {
        match self {
            AzValue::Bool(b) => b.to_string(),
            AzValue::Str(s) => s.clone(),
        }
    }
}

impl Azure<'_> {
    fn eval(expr: &str, vars: &BTreeMap<&str, &str>, deps_ok: bool) -> Result<bool, String> {
        let mut p = Azure {
            text: expr.trim().as_bytes(),
            at: 0,
            vars,
            deps_ok,
        };
        let v = p.value()?;
        p.ws();
        if p.at != p.text.len() {
            return Err(format!("cannot read {expr:?}"));
        }
        Ok(v.truthy())
    }

    fn ws(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Result<AzValue, String> {
        self.ws();
        if self.text.get(self.at) == Some(&b'\'') {
            let end = self.text[self.at + 1..]
                .iter()
                .position(|&c| c == b'\'')
                .ok_or("unclosed string")?;
            let s =
                String::from_utf8_lossy(&self.text[self.at + 1..self.at + 1 + end]).into_owned();
            self.at += end + 2;
            return Ok(AzValue::Str(s));
        }
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'_')
        {
            self.at += 1;
        }
        let name = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
        self.ws();
        match self.text.get(self.at) {
            Some(b'[') => {
                self.at += 1;
                let AzValue::Str(key) = self.value()? else {
                    return Err("index must be a string".to_owned());
                };
                self.ws();
                self.at += 1; // ]
                if name == "variables" {
                    Ok(AzValue::Str(
                        self.vars
                            .get(key.as_str())
                            .copied()
                            .unwrap_or("")
                            .to_owned(),
                    ))
                } else {
                    // dependencies.X.outputs['...']: unknown before the run.
                    Ok(AzValue::Str(String::new()))
                }
            }
            Some(b'(') => {
                self.at += 1;
                let mut args = Vec::new();
                loop {
                    self.ws();
                    if self.text.get(self.at) == Some(&b')') {
                        self.at += 1;
                        break;
                    }
                    args.push(self.value()?);
                    self.ws();
                    match self.text.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b')') => {}
                        other => return Err(format!("expected , or ) at {other:?}")),
                    }
                }
                let eq = |a: &AzValue, b: &AzValue| a.text().eq_ignore_ascii_case(&b.text());
                let b = match name.as_str() {
                    "and" => args.iter().all(AzValue::truthy),
                    "or" => args.iter().any(AzValue::truthy),
                    "not" => !args.first().ok_or("not()")?.truthy(),
                    "eq" => eq(&args[0], &args[1]),
                    "ne" => !eq(&args[0], &args[1]),
                    "in" => args[1..].iter().any(|a| eq(&args[0], a)),
                    "succeeded" | "succeededOrFailed" => self.deps_ok,
                    "always" => true,
                    "failed" | "canceled" => false,
                    other => return Err(format!("unknown function {other}")),
                };
                Ok(AzValue::Bool(b))
            }
            _ => Err(format!("cannot read {name:?}")),
        }
    }
}

/// The stages of the Azure pipeline that run for an event: (stage, runs apply).
fn azure_stages_run(doc: &Node, vars: &BTreeMap<&str, &str>) -> Vec<(String, bool)> {
    let mut ran: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut previous: Option<String> = None;
    for stage in items(doc.get("stages")) {
        let name = text(stage.get("stage")).unwrap().to_owned();
        // No dependsOn: the previous stage, as Azure DevOps does.
        let deps: Vec<String> = match stage.get("dependsOn") {
            None => previous.iter().cloned().collect(),
            Some(Node::Str(s)) => vec![s.clone()],
            n => items(n)
                .iter()
                .filter_map(|n| text(Some(n)))
                .map(str::to_owned)
                .collect(),
        };
        let deps_ok = deps.iter().all(|d| ran.contains(d));
        let condition = text(stage.get("condition")).unwrap_or("succeeded()");
        if Azure::eval(condition, vars, deps_ok).unwrap_or_else(|e| panic!("stage {name}: {e}")) {
            ran.push(name.clone());
            out.push((name.clone(), runs_apply(stage)));
        }
        previous = Some(name);
    }
    out
}

#[test]
fn azure_devops_merge_path_applies_and_pull_requests_only_plan() {
    let rel = "examples/ci/azure-devops/azure-pipelines.yml";
    let (_, doc) = read(rel);
    for stage in items(doc.get("stages")) {
        assert!(
            stage.get("dependsOn").is_some(),
            "{rel}: stage {:?} has an implicit dependency on the stage before it",
            text(stage.get("stage"))
        );
    }
    let event = |reason: &'static str, branch: &'static str| {
        let vars = BTreeMap::from([("Build.Reason", reason), ("Build.SourceBranch", branch)]);
        azure_stages_run(&doc, &vars)
    };
    let push = event("IndividualCI", "refs/heads/main");
    assert_eq!(push, [("apply".to_owned(), true)], "a merge must apply");
    let batched = event("BatchedCI", "refs/heads/main");
    assert_eq!(batched, [("apply".to_owned(), true)]);
    let pr = event("PullRequest", "refs/pull/7/merge");
    assert_eq!(
        pr,
        [("plan".to_owned(), false)],
        "a pull request only plans"
    );
    let nightly = event("Schedule", "refs/heads/main");
    assert_eq!(nightly.len(), 1, "{nightly:?}");
    assert_eq!(nightly[0].0, "drift");
    // Against the bug this guards: the old implicit dependency on the PR-only plan stage.
    let mut buggy = doc;
    if let Node::Map(top) = &mut buggy
        && let Some((_, Node::Seq(stages))) = top.iter_mut().find(|(k, _)| k == "stages")
        && let Node::Map(apply) = &mut stages[1]
    {
        apply.retain(|(k, _)| k != "dependsOn");
        for (k, v) in apply.iter_mut() {
            if k == "condition" {
                *v = Node::Str(format!("and(succeeded(), {})", text_of(v)));
            }
        }
    }
    let vars = BTreeMap::from([
        ("Build.Reason", "IndividualCI"),
        ("Build.SourceBranch", "refs/heads/main"),
    ]);
    assert!(azure_stages_run(&buggy, &vars).is_empty());
}

#[test]
fn azure_devops_needs_no_azure_cli_or_subscription() {
    let (_, doc) = read("examples/ci/azure-devops/azure-pipelines.yml");
    let mut all = Vec::new();
    strings(&doc, &mut all);
    assert!(
        !all.iter().any(|s| s.starts_with("AzureCLI@")),
        "AzureCLI@2 runs `az login`, which needs a subscription role"
    );
    assert!(
        !all.iter().any(|s| s.contains("cargo install")),
        "install the release binary"
    );
    assert!(all.iter().any(|s| s.contains("sha256sum -c")));
    assert!(all.iter().any(|s| s.contains("SYSTEM_OIDCREQUESTURI")));
}

// ---------- GitLab ----------

const GITLAB_KEYWORDS: [&str; 8] = [
    "stages",
    "variables",
    "default",
    "workflow",
    "include",
    "image",
    "before_script",
    "after_script",
];

/// The jobs of a GitLab file that a pipeline with `vars` creates.
fn gitlab_jobs_run<'a>(doc: &'a Node, vars: &BTreeMap<&str, &str>) -> Vec<(&'a str, &'a Node)> {
    let mut out = Vec::new();
    for (name, job) in entries(Some(doc)) {
        if name.starts_with('.') || GITLAB_KEYWORDS.contains(&name.as_str()) {
            continue;
        }
        let rules = items(job.get("rules"));
        let runs = rules.is_empty()
            || rules.iter().any(|r| match text(r.get("if")) {
                None => true,
                Some(cond) => Infix::eval(cond, vars).unwrap_or_else(|e| panic!("{name}: {e}")),
            });
        if runs {
            out.push((name.as_str(), job));
        }
    }
    out
}

#[test]
fn gitlab_merge_path_applies_and_merge_requests_only_plan() {
    let rel = "examples/ci/gitlab/.gitlab-ci.yml";
    let (raw, doc) = read(rel);
    let vars = |source: &'static str, branch: &'static str| {
        BTreeMap::from([
            ("CI_PIPELINE_SOURCE", source),
            ("CI_COMMIT_BRANCH", branch),
            ("CI_DEFAULT_BRANCH", "main"),
        ])
    };
    let names = |v| -> Vec<(String, bool)> {
        gitlab_jobs_run(&doc, &v)
            .into_iter()
            .map(|(n, j)| (n.to_owned(), runs_apply(j)))
            .collect()
    };
    let push = names(vars("push", "main"));
    assert!(push.contains(&("apply".to_owned(), true)), "{push:?}");
    let mr = names(vars("merge_request_event", ""));
    assert!(mr.iter().all(|(_, apply)| !apply), "{mr:?}");
    assert!(mr.iter().any(|(n, _)| n == "mr-plan"), "{mr:?}");

    // The nightly pipeline: nothing in it deploys; the correction lives in the child pipeline
    // that the drift job hands over only on drift.
    let nightly = vars("schedule", "main");
    let jobs = gitlab_jobs_run(&doc, &nightly);
    let names_run: Vec<&str> = jobs.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names_run,
        ["validate", "drift", "correct-drift"],
        "{names_run:?}"
    );
    for (name, job) in &jobs {
        assert!(
            job.get("environment").is_none(),
            "{name} deploys on every night"
        );
        assert!(!runs_apply(job) || *name != "drift", "{name}");
    }
    let drift_script = {
        let (_, drift) = jobs.iter().find(|(n, _)| *n == "drift").unwrap();
        let mut all = Vec::new();
        strings(drift, &mut all);
        all.join("\n")
    };
    assert!(
        drift_script.contains(
            "if [ \"$code\" = 2 ]; then\n  cp .gitlab/devlic-correct-drift.yml child.yml"
        ),
        "{drift_script}"
    );
    let (_, child) = read("examples/ci/gitlab/devlic-correct-drift.yml");
    let child_jobs = gitlab_jobs_run(&child, &nightly);
    assert_eq!(child_jobs.len(), 1);
    assert!(runs_apply(child_jobs[0].1));
    assert_eq!(text(child_jobs[0].1.get("environment")), Some("production"));

    // Free tier: no job-token call to another pipeline's artifacts, no cargo builds.
    assert!(
        !raw.contains("JOB-TOKEN") && !raw.contains("jobs/artifacts"),
        "{rel}"
    );
    assert!(!raw.contains("cargo install"), "{rel}");
}

// ---------- versions ----------

#[test]
fn examples_download_the_workspace_version() {
    let version = format!("v{}", workspace_version());
    let (_, action) = read("action.yml");
    let default = action
        .get("inputs")
        .and_then(|i| i.get("version"))
        .and_then(|v| v.get("default"));
    assert_eq!(
        text(default),
        Some(version.as_str()),
        "action.yml's default version"
    );
    for rel in [
        "examples/ci/gitlab/.gitlab-ci.yml",
        "examples/ci/gitlab/devlic-correct-drift.yml",
        "examples/ci/azure-devops/azure-pipelines.yml",
    ] {
        let (_, doc) = read(rel);
        assert_eq!(
            text(doc.get("variables").and_then(|v| v.get("DEVLIC_VERSION"))),
            Some(version.as_str()),
            "{rel}"
        );
    }
    let (cronjob, _) = read_multi("examples/ci/kubernetes/cronjob.yaml");
    assert!(
        cronjob.contains(&format!("devlic:{version}")),
        "cronjob.yaml's image"
    );
}

fn read_multi(rel: &str) -> (String, Vec<Node>) {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    let docs = serde_saphyr::from_multiple(&text).unwrap();
    (text, docs)
}

#[test]
fn release_workflow_builds_every_target_and_publishes_checksums_sbom_and_provenance() {
    let (raw, doc) = read(".github/workflows/release.yml");
    assert!(triggered(&doc, "push", ""), "release.yml runs on tags");
    let targets: Vec<&str> = items(
        doc.get("jobs")
            .and_then(|j| j.get("build"))
            .and_then(|b| b.get("strategy"))
            .and_then(|s| s.get("matrix"))
            .and_then(|m| m.get("include")),
    )
    .iter()
    .filter_map(|e| text_opt(e.get("target")))
    .collect();
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "x86_64-pc-windows-msvc",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin",
        ]
    );
    for needle in [
        "SHA256SUMS",
        "cargo sbom",
        "actions/attest-build-provenance@",
        "push-to-registry: true",
        "docker buildx build --platform linux/amd64,linux/arm64",
    ] {
        assert!(raw.contains(needle), "release.yml lacks {needle}");
    }
    // The Dockerfile copies exactly what the image job lays out: dist/linux-<Docker's
    // TARGETARCH>/devlic, unpacked from the musl archive of the matching Rust target.
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("COPY --chmod=0555 dist/linux-${TARGETARCH}/devlic"));
    for needle in [
        "for pair in amd64:x86_64 arm64:aarch64; do",
        "target=${pair#*:}-unknown-linux-musl",
        "mkdir -p \"dist/linux-$arch\"",
        "-C \"dist/linux-$arch\" devlic",
    ] {
        assert!(
            raw.contains(needle),
            "release.yml's image job lacks {needle}"
        );
    }
    assert!(dockerfile.contains("USER 65532:65532"));
    assert!(dockerfile.contains("distroless/static"));
    assert!(Path::new(&root().join("LICENSE-MIT")).exists());
    assert!(Path::new(&root().join("LICENSE-APACHE")).exists());
}

fn text_opt(node: Option<&Node>) -> Option<&str> {
    text(node)
}
