//! The request log (issue 15): `-v` prints one line per Graph request on stderr, counted here
//! against the simulator's own request log; `--log-format json` prints the same as JSON lines.

use std::collections::BTreeMap;

use devlic_graph_sim::Faults;

use crate::sim::TestSim;

/// The simulator's top-level Graph requests (not `$batch` items, not sign-in) as
/// (method, status) counts.
fn graph_requests_seen(sim: &TestSim) -> BTreeMap<(String, u16), usize> {
    let mut seen = BTreeMap::new();
    for r in sim.sim.request_log() {
        let graph =
            r.path_and_query.starts_with("/v1.0/") || r.path_and_query.starts_with("/beta/");
        if graph && r.batch_item.is_none() {
            *seen.entry((r.method.clone(), r.status)).or_insert(0) += 1;
        }
    }
    seen
}

#[test]
fn plan_v_prints_one_line_per_graph_request() {
    let sim = TestSim::start("contoso");
    sim.sim.clear_request_log();
    let run = sim.run(&["-v", "plan", "examples/contoso"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("graph: "))
        .collect();
    let mut logged = BTreeMap::new();
    for line in &lines {
        // graph: GET /v1.0/subscribedSkus 200 3 ms request-id=… retries=0 (a filter in the
        // path may hold spaces, so read the fixed fields from the right).
        let words: Vec<&str> = line.rsplitn(6, ' ').collect();
        assert_eq!(words[0], "retries=0", "{line}");
        assert!(
            words[1].starts_with("request-id=") && words[1].len() > 20,
            "{line}"
        );
        assert_eq!(words[2], "ms", "{line}");
        assert!(words[3].parse::<u64>().is_ok(), "{line}");
        let status: u16 = words[4].parse().unwrap();
        let (method, path) = words[5]["graph: ".len()..].split_once(' ').unwrap();
        // `backend: auto` reads the beta allotments, and plans on cloud-licensing through beta.
        assert!(
            path.starts_with("/v1.0/") || path.starts_with("/beta/"),
            "{line}"
        );
        *logged.entry((method.to_owned(), status)).or_insert(0) += 1;
    }
    let seen = graph_requests_seen(&sim);
    assert!(!seen.is_empty());
    assert_eq!(logged, seen, "{}", run.stderr);
    assert_eq!(lines.len(), seen.values().sum::<usize>());
    // Without -v there is no request log.
    let quiet = sim.run(&["plan", "examples/contoso"]);
    assert!(!quiet.stderr.contains("graph: "), "{}", quiet.stderr);
}

#[test]
fn retries_are_counted_and_json_lines_carry_the_same() {
    let sim = TestSim::start("contoso");
    sim.sim.set_faults(Faults {
        throttle_rate: 0.4,
        retry_after_secs: 0.01,
        ..Faults::default()
    });
    sim.sim.clear_request_log();
    let run = sim.run(&["-v", "--log-format", "json", "skus"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut logged = BTreeMap::new();
    let mut retried = 0;
    for line in run.stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("every stderr line is JSON");
        if v["target"] != "devlic::request" {
            continue;
        }
        let status = u16::try_from(v["status"].as_u64().unwrap()).unwrap();
        assert!(v["durationMs"].is_u64(), "{line}");
        assert!(v["path"].as_str().unwrap().starts_with("/v1.0/"), "{line}");
        if v["retries"].as_u64().unwrap() > 0 {
            retried += 1;
        }
        if status == 429 {
            assert!(v["requestId"].is_string(), "{line}");
        }
        *logged
            .entry((v["method"].as_str().unwrap().to_owned(), status))
            .or_insert(0) += 1;
    }
    let seen = graph_requests_seen(&sim);
    assert_eq!(logged, seen, "{}", run.stderr);
    let throttled = seen
        .iter()
        .filter(|((_, status), _)| *status == 429)
        .map(|(_, n)| n)
        .sum::<usize>();
    assert!(throttled > 0, "the seed throttled nothing: {seen:?}");
    assert_eq!(retried, throttled, "each 429 is followed by one retry");
}
