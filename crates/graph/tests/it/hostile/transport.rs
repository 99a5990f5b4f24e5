//! Transport security beyond `security.rs`: the loopback rule as a property over every address,
//! redirects never followed (they could carry the bearer token elsewhere), and the TLS stack
//! pinned to rustls with the platform's roots, with no OpenSSL anywhere below devlic-graph.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use devlic_graph::auth::{AuthError, Cloud, Endpoints, StaticToken};
use devlic_graph::{ClientConfig, ConfigError, GraphClient, GraphError};
use proptest::prelude::*;
use secrecy::SecretString;
use tokio::net::TcpListener;
use url::Url;

use super::NO_HANG;
use crate::support::{Reply, Scripted, TOKEN, client_for, fast_retry};

fn client(url: &Url) -> Result<GraphClient, ConfigError> {
    GraphClient::new(ClientConfig::new(
        url.clone(),
        Arc::new(StaticToken::new(SecretString::from(TOKEN.to_owned()))),
    ))
}

/// Both places a URL enters devlic: the Graph client's config and the auth endpoints (Graph
/// root and authority). Returns whether each accepted `url`.
fn accepted(url: &str) -> (bool, bool, bool) {
    let parsed = Url::parse(url).expect("test URL");
    let graph = client(&parsed).is_ok();
    let endpoint = Endpoints::resolve(Cloud::Global, Some(url), None, None);
    let authority = Endpoints::resolve(Cloud::Global, None, Some(url), None);
    for e in [&endpoint, &authority]
        .into_iter()
        .filter_map(|r| r.as_ref().err())
    {
        assert!(matches!(e, AuthError::InsecureUrl { .. }), "{url}: {e:?}");
    }
    (graph, endpoint.is_ok(), authority.is_ok())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn plain_http_is_accepted_exactly_for_ipv4_loopback(ip in any::<u32>(), port in 1u16..) {
        let ip = Ipv4Addr::from(ip);
        let url = format!("http://{ip}:{port}/");
        let loopback = ip.octets()[0] == 127;
        prop_assert_eq!(accepted(&url), (loopback, loopback, loopback), "{}", url);
        // https is accepted everywhere.
        prop_assert_eq!(accepted(&format!("https://{ip}:{port}/")), (true, true, true));
    }

    #[test]
    fn plain_http_is_accepted_exactly_for_ipv6_loopback(ip in any::<u128>(), port in 1u16..) {
        let ip = Ipv6Addr::from(ip);
        let url = format!("http://[{ip}]:{port}/");
        let loopback = ip == Ipv6Addr::LOCALHOST;
        prop_assert_eq!(accepted(&url), (loopback, loopback, loopback), "{}", url);
    }

    #[test]
    fn plain_http_to_any_other_name_is_refused(name in "[a-z][a-z0-9-]{0,20}(\\.[a-z][a-z0-9-]{0,10}){0,3}") {
        prop_assume!(!name.eq_ignore_ascii_case("localhost"));
        // A label starting `xn--` is punycode; most such labels (`a.xn--`) are invalid IDNA,
        // which the url crate refuses before devlic sees the URL (a random run found `a.xn--`).
        prop_assume!(!name.split('.').any(|label| label.starts_with("xn--")));
        let url = format!("http://{name}/");
        prop_assert_eq!(accepted(&url), (false, false, false), "{}", url);
    }
}

#[test]
fn the_edge_cases_of_the_loopback_rule() {
    for (url, ok) in [
        ("http://localhost:9/", true),
        ("http://LocalHost:9/", true),
        ("http://127.255.255.254/", true),
        ("http://[::1]/", true),
        // IPv4-mapped loopback is not treated as loopback: strict is safe.
        ("http://[::ffff:127.0.0.1]/", false),
        ("http://0.0.0.0/", false),
        ("http://localhost./", false),
        ("http://127.0.0.1.nip.io/", false),
        ("http://2130706433/", true), // the URL parser reads this as 127.0.0.1
    ] {
        assert_eq!(accepted(url), (ok, ok, ok), "{url}");
    }
}

#[tokio::test]
async fn redirects_are_never_followed() {
    // A redirect to another server would carry the request (and, with a lax client, the bearer
    // token) there. The client treats it as an error answer and the target never hears of it.
    let other = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let other_port = other.local_addr().expect("addr").port();
    let contacted = Arc::new(AtomicUsize::new(0));
    let c = contacted.clone();
    tokio::spawn(async move {
        while let Ok(_conn) = other.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
        }
    });
    for status in [301u16, 302, 303, 307, 308] {
        let location = format!("http://127.0.0.1:{other_port}/v1.0/subscribedSkus");
        let server = Scripted::start(move |_, _| {
            Reply::Send(status, vec![("location", location.clone())], String::new())
        })
        .await;
        let client = client_for(&server.base, TOKEN, fast_retry());
        let err = tokio::time::timeout(
            NO_HANG,
            client.read_group_license_state(
                devlic_model::GroupId::parse("1a2b3c4d-0001-4a5b-8c6d-000000000001").expect("id"),
            ),
        )
        .await
        .expect("hang")
        .expect_err("a redirect was treated as success");
        assert!(
            matches!(err, GraphError::Service { status: s, .. } if s == status),
            "{status}: {err:?}"
        );
        assert_eq!(server.seen().len(), 1, "{status}: retried a redirect");
    }
    assert_eq!(
        contacted.load(Ordering::SeqCst),
        0,
        "a redirect was followed"
    );
}

/// `Cargo.lock`'s packages: `name version` -> dependencies (as `name` or `name version`).
fn lock_graph() -> BTreeMap<String, Vec<String>> {
    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"))
            .expect("Cargo.lock at the workspace root");
    let mut graph = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
                .map(|v| v.trim_end_matches('"').to_owned())
        };
        let (Some(name), Some(version)) = (field("name"), field("version")) else {
            continue;
        };
        let deps = block
            .split_once("dependencies = [")
            .map(|(_, rest)| rest.split(']').next().unwrap_or_default())
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().trim_end_matches(',').trim_matches('"').to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        graph.insert(format!("{name} {version}"), deps);
    }
    graph
}

/// Every package name reachable from `root` in the lock file (all targets, all features the
/// workspace resolved, dev-dependencies included: a superset of any real build).
fn reachable(graph: &BTreeMap<String, Vec<String>>, root: &str) -> BTreeSet<String> {
    let resolve = |dep: &str| -> Option<String> {
        if graph.contains_key(dep) {
            return Some(dep.to_owned());
        }
        // A bare name means the only version in the lock.
        graph
            .keys()
            .find(|k| k.split(' ').next() == Some(dep))
            .cloned()
    };
    let mut seen = BTreeSet::new();
    let mut stack = vec![resolve(root).expect("root in Cargo.lock")];
    while let Some(pkg) = stack.pop() {
        if !seen.insert(pkg.clone()) {
            continue;
        }
        for dep in &graph[&pkg] {
            if let Some(d) = resolve(dep) {
                stack.push(d);
            }
        }
    }
    seen.into_iter()
        .map(|p| p.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn tls_is_rustls_with_platform_roots_and_no_openssl() {
    // Read from Cargo.lock rather than by running `cargo tree`, so the test needs neither cargo
    // nor the network. The lock lists every dependency for every platform, so "absent here"
    // means absent from any build of devlic-graph.
    let names = reachable(&lock_graph(), "devlic-graph");
    for banned in [
        "openssl-sys",
        "openssl",
        "native-tls",
        "hyper-tls",
        "tokio-native-tls",
    ] {
        assert!(
            !names.contains(banned),
            "{banned} is a dependency of devlic-graph"
        );
    }
    for required in ["rustls", "hyper-rustls", "rustls-platform-verifier"] {
        assert!(
            names.contains(required),
            "{required} missing: TLS stack changed?"
        );
    }
}
