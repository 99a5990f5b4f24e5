//! The CI examples (`action.yml`, `examples/ci/**`) run for real, as far as that works offline.
//!
//! No workflow runner exists here, so this mimics the steps: every YAML file is parsed, its
//! `devlic` commands are extracted (rules in `extract`), and, per file and per GitHub matrix
//! tenant, they run in document order in a scratch folder laid out like the user's spec
//! repository, against a fresh in-process simulator. A flag that doesn't exist, a wrong path, an
//! unknown variable or an unexpected exit code fails the test, naming the file and line.
//!
//! Variables: literal `env`/`variables` values of the file, `${{ matrix.X }}`, and test values
//! for the runner's own (RUNNER_TEMP, GITHUB_STEP_SUMMARY, AGENT_TEMPDIRECTORY, ...). A generic
//! line such as `devlic "$DEVLIC_COMMAND" ...` (in action.yml) is skipped: the workflows exercise
//! it through the action's inputs. Sign-in uses the simulator's client secret.

mod extract;
mod rules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use extract::{Extracted, Found, Kind, Node};

use crate::sim::{SECRET, TestSim, clean_devlic, finish, fixture};
use crate::support::root;

/// Simulator tenants: the fixture name and the domain to sign in to.
const TENANTS: [(&str, &str); 2] = [
    ("contoso", "contoso.onmicrosoft.com"),
    ("northwind", "northwindschools.onmicrosoft.com"),
];
/// Files that run no devlic command by design: the fork-comment workflow only comments, and
/// the service account is identity only.
const NO_COMMANDS: [&str; 2] = [
    "examples/ci/github/pr-plan-comment.yml",
    "examples/ci/kubernetes/serviceaccount.yaml",
];
/// Floors that keep an extraction bug from passing vacuously (the counts when this was last
/// changed: 26 distinct commands, 29 runs counting the matrix, 8 re-plans after an apply; fork
/// pull requests and GitLab merge requests no longer plan from a snapshot, and the GitLab drift
/// correction moved into its child pipeline file).
const MIN_COMMANDS: usize = 26;
const MIN_RUNS: usize = 29;
const MIN_REPLANS: usize = 8;

/// Whether `argv` holds `flag`.
fn has(argv: &[String], flag: &str) -> bool {
    argv.iter().any(|a| a == flag)
}

/// What the files contributed.
#[derive(Debug, Default)]
struct Tally {
    commands: usize,
    skipped: usize,
    runs: usize,
    replans: usize,
}

/// `action.yml` and every `*.yml`/`*.yaml` under `examples/ci`, sorted.
fn ci_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("examples/ci is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("examples/ci"), &mut files);
    files.sort();
    files.insert(0, root().join("action.yml"));
    files
}

/// The 1-based line of the first line at or after `from` (else anywhere) holding every needle.
struct Locator<'a> {
    lines: Vec<&'a str>,
    from: usize,
}

impl Locator<'_> {
    fn find(&mut self, needles: &[&str]) -> Option<usize> {
        let hit = |l: &&str| needles.iter().all(|n| l.contains(n));
        let at = (self
            .lines
            .iter()
            .skip(self.from)
            .position(hit)
            .map(|i| i + self.from))
        .or_else(|| self.lines.iter().position(hit))?;
        self.from = at;
        Some(at + 1)
    }
}

/// Where each command is written in the file, for error messages.
fn command_lines(text: &str, commands: &[Found]) -> Vec<String> {
    let mut locator = Locator {
        lines: text.lines().collect(),
        from: 0,
    };
    commands
        .iter()
        .map(|c| {
            let second = c.raw.split_whitespace().nth(1).unwrap_or("");
            let line = match c.kind {
                Kind::Shell => locator.find(&[&c.raw]),
                Kind::Action => locator.find(&["command:", second]),
                Kind::Container => locator.find(&["command:", "devlic"]),
            };
            line.map_or_else(|| "?".to_owned(), |l| l.to_string())
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Lays out a user's repository: licenses/, tenants/*, the runners' folders and artifacts.
/// A committed snapshot with 1000 more units per subscription, like the simulator `run_file`
/// seeds: the Contoso story's shortfall (a guard, exit 3) has its own end-to-end test, and this
/// test is about the commands and flags of the examples.
fn roomy_snapshot(path: &Path) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for sku in v["state"]["skus"].as_array_mut().unwrap() {
        let enabled = sku["prepaidUnits"]["enabled"].as_u64().unwrap();
        sku["prepaidUnits"]["enabled"] = (enabled + 1000).into();
    }
    for pool in v["state"]["allotments"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        let allotted = pool["allottedUnits"].as_u64().unwrap();
        pool["allottedUnits"] = (allotted + 1000).into();
    }
    serde_json::to_string_pretty(&v).unwrap()
}

fn scratch_repo(work: &Path, tenant: &str, docs: &[Node]) {
    let examples = root().join("examples");
    copy_dir(&examples.join(tenant), &work.join("licenses"));
    for (name, _) in TENANTS {
        copy_dir(&examples.join(name), &work.join("tenants").join(name));
    }
    let snapshot = roomy_snapshot(&examples.join(format!("tenants/{tenant}.snapshot.json")));
    std::fs::create_dir_all(work.join("runner-temp/snapshot")).unwrap();
    // The nightly artifact (GitHub), and GitLab's artifact download.
    std::fs::write(
        work.join("runner-temp/snapshot/tenant.snapshot.json"),
        &snapshot,
    )
    .unwrap();
    std::fs::write(work.join("tenant.snapshot.json"), &snapshot).unwrap();
    std::fs::create_dir(work.join("pipeline")).unwrap();
    // Azure DevOps `download: current` puts the detect job's artifact here.
    std::os::unix::fs::symlink(work, work.join("pipeline/devlic-drift-plan")).unwrap();
    std::fs::create_dir(work.join("tmp")).unwrap();
    std::fs::create_dir(work.join("spec")).unwrap();
    // A ConfigMap holding the spec, mounted at /spec.
    for doc in docs {
        if let (Some(Node::Str(kind)), Some(Node::Map(data))) = (doc.get("kind"), doc.get("data"))
            && kind == "ConfigMap"
        {
            for (name, text) in data {
                if let Node::Str(text) = text {
                    std::fs::write(work.join("spec").join(name), text).unwrap();
                }
            }
        }
    }
}

/// Whether a GitLab job takes artifacts from its parent pipeline (`needs: - pipeline: ...`).
fn needs_parent_pipeline(doc: &Node) -> bool {
    let Node::Map(jobs) = doc else { return false };
    jobs.iter().any(|(_, job)| match job.get("needs") {
        Some(Node::Seq(needs)) => needs.iter().any(|n| n.get("pipeline").is_some()),
        _ => false,
    })
}

/// One file, read and walked.
struct CiFile {
    rel: String,
    docs: Vec<Node>,
    found: Extracted,
    lines: Vec<String>,
}

fn load(path: &Path) -> Result<CiFile, String> {
    let rel = path
        .strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{rel}: {e}"))?;
    let docs: Vec<Node> =
        serde_saphyr::from_multiple(&text).map_err(|e| format!("{rel}: not YAML: {e}"))?;
    let mut found = Extracted::default();
    for doc in &docs {
        found.walk(doc).map_err(|e| format!("{rel}: {e}"))?;
    }
    let lines = command_lines(&text, &found.commands);
    Ok(CiFile {
        rel,
        docs,
        found,
        lines,
    })
}

/// Runs a file's commands once per matrix tenant (once when there is no matrix).
fn run_file(file: &CiFile, tally: &mut Tally) -> Result<(), String> {
    let no_matrix = [BTreeMap::new()];
    let entries = if file.found.matrix.is_empty() {
        &no_matrix[..]
    } else {
        &file.found.matrix[..]
    };
    for entry in entries {
        let tenant = entry.get("tenant").map_or("contoso", String::as_str);
        let (_, domain) = TENANTS
            .iter()
            .find(|(name, _)| *name == tenant)
            .ok_or_else(|| format!("{}: matrix tenant {tenant:?} has no fixture", file.rel))?;
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().canonicalize().unwrap();
        scratch_repo(&work, tenant, &file.docs);
        let mut seed = fixture(tenant);
        // Enough units that apply succeeds: this test is about commands and flags; the
        // capacity shortage of the Contoso story has its own end-to-end test.
        for sku in &mut seed.subscribed_skus {
            sku.prepaid_units.enabled += 1000;
        }
        let sim = TestSim::with_tenant(seed);
        let run = Runner {
            file,
            entry,
            work: &work,
            domain,
            url: sim.sim.url(),
        };
        run.all(tally)?;
    }
    Ok(())
}

/// The commands of one file against one simulator.
struct Runner<'a> {
    file: &'a CiFile,
    entry: &'a BTreeMap<String, String>,
    work: &'a Path,
    domain: &'a str,
    url: String,
}

impl Runner<'_> {
    fn values(&self) -> BTreeMap<String, String> {
        let w = |p: &str| self.work.join(p).display().to_string();
        let mut values = self.file.found.env.clone();
        values.extend([
            ("RUNNER_TEMP".to_owned(), w("runner-temp")),
            ("GITHUB_STEP_SUMMARY".to_owned(), w("step-summary.md")),
            ("AGENT_TEMPDIRECTORY".to_owned(), w("tmp")),
            ("PIPELINE_WORKSPACE".to_owned(), w("pipeline")),
            ("GITHUB_RUN_ID".to_owned(), "1".to_owned()),
            ("GITHUB_RUN_ATTEMPT".to_owned(), "1".to_owned()),
        ]);
        values
    }

    /// `devlic ARGS` in the scratch repository, signed in to the simulator.
    fn devlic(&self, args: &[String]) -> crate::support::Run {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = clean_devlic(&args);
        cmd.current_dir(self.work)
            .env("AZURE_TENANT_ID", self.domain)
            .env("AZURE_CLIENT_ID", "devlic-sim")
            .env("AZURE_CLIENT_SECRET", SECRET)
            // The examples' commands run exactly as written: the simulator's address comes
            // from the environment, as a CI job pointing devlic elsewhere would set it.
            .env("DEVLIC_GRAPH_URL", &self.url)
            .env("DEVLIC_AUTHORITY_URL", &self.url)
            .timeout(Duration::from_secs(60));
        finish(cmd)
    }

    fn all(&self, tally: &mut Tally) -> Result<(), String> {
        let values = self.values();
        let mut applied = false;
        if self.file.docs.iter().any(needs_parent_pipeline) {
            // A GitLab child pipeline: its parent's `drift` job left drift-plan.json.
            let spec = extract::expand("$DEVLIC_SPEC", &values, self.entry)
                .map_err(|e| format!("{}: {e}", self.file.rel))?;
            let args = ["plan", &spec, "--out", "drift-plan.json"].map(String::from);
            let r = self.devlic(&args);
            if r.code != 0 {
                return Err(format!(
                    "{}: the parent's drift plan: {}",
                    self.file.rel, r.stderr
                ));
            }
        }
        for (found, line) in self.file.found.commands.iter().zip(&self.file.lines) {
            let at = format!("{}:{line}", self.file.rel);
            let second = found.raw.split_whitespace().nth(1).unwrap_or("");
            if second.trim_start_matches('"').starts_with('$') {
                continue;
            }
            let expanded = extract::expand(&found.raw, &values, self.entry)
                .map_err(|e| format!("{at}: `{}`: {e}", found.raw))?;
            let mut argv = extract::split(&expanded).map_err(|e| format!("{at}: {e}"))?;
            argv.remove(0); // `devlic`
            if found.kind == Kind::Container {
                // The container's absolute paths map into the scratch repository.
                for a in &mut argv {
                    if a.starts_with("/spec") || a.starts_with("/tmp/") {
                        *a = self.work.join(&a[1..]).display().to_string();
                    }
                }
            }
            let sub = argv.first().cloned().unwrap_or_default();
            if sub == "apply" {
                // The simulator processes license changes at once.
                argv.extend(["--poll-interval", "0.2"].map(String::from));
                applied = true;
            }
            let r = self.devlic(&argv);
            let ok: &[i32] = if sub == "plan" && has(&argv, "--detailed-exitcode") {
                &[0, 2]
            } else {
                &[0]
            };
            if !ok.contains(&r.code) || r.stderr.contains("Usage: devlic") {
                return Err(format!(
                    "{at}: `{}` exited {}\n  ran: devlic {}\n  stderr:\n{}",
                    found.raw,
                    r.code,
                    argv.join(" "),
                    r.stderr
                ));
            }
            if sub == "plan"
                && let Some(i) = argv.iter().position(|a| a == "--out")
            {
                let saved = self.work.join(&argv[i + 1]); // an absolute path stays absolute
                let text = std::fs::read_to_string(&saved)
                    .map_err(|e| format!("{at}: the plan file {}: {e}", saved.display()))?;
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| format!("{at}: the plan file is not JSON: {e}"))?;
            }
            tally.runs += 1;
        }
        if applied {
            self.replan(&values)?;
            tally.replans += 1;
        }
        Ok(())
    }

    /// After a file's applies, the tenant must match the spec it applied.
    fn replan(&self, values: &BTreeMap<String, String>) -> Result<(), String> {
        let commands = &self.file.found.commands;
        let spec = if commands.iter().any(|c| c.raw.contains("/spec")) {
            "spec".to_owned()
        } else {
            extract::expand("$DEVLIC_SPEC", values, self.entry)
                .map_err(|e| format!("{}: the re-plan after apply: {e}", self.file.rel))?
        };
        let argv = [&spec, "--detailed-exitcode"];
        let mut args = vec!["plan".to_owned()];
        args.extend(argv.iter().map(|a| a.to_string()));
        let r = self.devlic(&args);
        if r.code != 0 {
            return Err(format!(
                "{}: the re-plan after apply exited {}:\n{}{}",
                self.file.rel, r.code, r.stdout, r.stderr
            ));
        }
        Ok(())
    }
}

#[test]
fn every_ci_example_command_runs_against_the_simulator() {
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let mut silent = Vec::new();
    let files = ci_files();
    for path in &files {
        let file = match load(path) {
            Ok(file) => file,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let skipped = file
            .found
            .commands
            .iter()
            .filter(|c| {
                c.raw
                    .split_whitespace()
                    .nth(1)
                    .is_some_and(|w| w.trim_start_matches('"').starts_with('$'))
            })
            .count();
        let runnable = file.found.commands.len() - skipped;
        tally.commands += runnable;
        tally.skipped += skipped;
        let by_design = NO_COMMANDS.contains(&file.rel.as_str());
        if (runnable == 0) != by_design {
            silent.push(format!("{} ({runnable} command(s))", file.rel));
        }
        if let Err(e) = run_file(&file, &mut tally) {
            failures.push(e);
        }
    }
    // Shown with --nocapture: what ran.
    eprintln!("{} CI files: {tally:?}", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        silent.is_empty(),
        "a file yielded no devlic command although it should, or yields some although \
         NO_COMMANDS says it has none: {silent:?}"
    );
    assert!(
        tally.skipped >= 1,
        "action.yml's generic `devlic \"$DEVLIC_COMMAND\"` line was not found"
    );
    assert!(files.len() >= 10, "only {} CI files found", files.len());
    assert!(
        tally.commands >= MIN_COMMANDS && tally.runs >= MIN_RUNS && tally.replans >= MIN_REPLANS,
        "fewer commands than the examples hold; is the extraction broken? {tally:?}"
    );
}
