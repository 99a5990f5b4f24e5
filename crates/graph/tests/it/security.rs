//! Transport security: http only to loopback, nextLink and `$batch` URLs never leave the
//! configured Graph root, each cloud's Graph URL.

use std::sync::Arc;

use devlic_graph::auth::{Cloud, StaticToken};
use devlic_graph::{ApiVersion, BatchGet, ClientConfig, ConfigError, GraphClient, GraphError};
use secrecy::SecretString;
use url::Url;

use crate::support::{Reply, Scripted, TOKEN, client_for, fast_retry};

fn config(url: &str) -> ClientConfig {
    ClientConfig::new(
        Url::parse(url).unwrap(),
        Arc::new(StaticToken::new(SecretString::from(TOKEN.to_owned()))),
    )
}

#[test]
fn plain_http_is_refused_outside_loopback() {
    for url in [
        "http://graph.microsoft.com",
        "http://192.168.1.10:8080",
        "http://localhost.example.com",
    ] {
        let err = GraphClient::new(config(url)).expect_err(url);
        assert!(
            matches!(err, ConfigError::InsecureScheme { .. }),
            "{url}: {err:?}"
        );
    }
    for url in [
        "http://127.0.0.1:9",
        "http://[::1]:9",
        "http://localhost:9",
        "https://graph.microsoft.com",
    ] {
        GraphClient::new(config(url)).expect(url);
    }
    let mut zero = config("https://graph.microsoft.com");
    zero.concurrency = 0;
    assert_eq!(
        GraphClient::new(zero).unwrap_err(),
        ConfigError::ZeroConcurrency
    );
}

#[test]
fn every_cloud_yields_its_graph_root() {
    let expected = [
        (Cloud::Global, "https://graph.microsoft.com/v1.0"),
        (Cloud::UsGov, "https://graph.microsoft.us/v1.0"),
        (Cloud::UsGovDod, "https://dod-graph.microsoft.us/v1.0"),
        (Cloud::China, "https://microsoftgraph.chinacloudapi.cn/v1.0"),
    ];
    for (cloud, root) in expected {
        let mut cfg = config("https://placeholder.invalid");
        cfg.graph_url = cloud.graph_url();
        let client = GraphClient::new(cfg).expect("cloud URL is valid");
        assert_eq!(client.version_root(), root, "{}", cloud.name());
        let (url, _) = client
            .assign_license_request(
                devlic_model::GroupId::parse("1a2b3c4d-0001-4a5b-8c6d-000000000001").unwrap(),
                &[],
                &[],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            format!("{root}/groups/1a2b3c4d-0001-4a5b-8c6d-000000000001/assignLicense")
        );
    }
    let mut beta = config("https://graph.microsoft.com/");
    beta.api_version = ApiVersion::Beta;
    assert_eq!(
        GraphClient::new(beta).unwrap().version_root(),
        "https://graph.microsoft.com/beta"
    );
}

async fn next_link_to(target: String) -> (Scripted, GraphError) {
    let server = Scripted::start(move |seen, _| {
        if seen.target.contains("/organization") {
            Reply::json(serde_json::json!({"value": [{"id": "t", "verifiedDomains": []}]}))
        } else if seen.target.contains("/subscribedSkus") {
            Reply::json(serde_json::json!({"value": [], "@odata.nextLink": target}))
        } else {
            Reply::json(serde_json::json!({"value": []}))
        }
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let err = client
        .read_live(&Default::default())
        .await
        .expect_err("refused");
    (server, err)
}

#[tokio::test]
async fn next_link_to_another_host_is_refused_and_never_contacted() {
    // A real listener on another port: it must never see a request (nor our token).
    let other = Scripted::start(|_, _| Reply::json(serde_json::json!({"value": []}))).await;
    let (server, err) =
        next_link_to(format!("{}/v1.0/subscribedSkus?$skiptoken=x", other.base)).await;
    assert!(matches!(err, GraphError::ForeignUrl { .. }), "{err:?}");
    assert!(other.seen().is_empty());
    assert_eq!(server.seen().len(), 2);
    for foreign in [
        "https://evil.example/v1.0/subscribedSkus".to_owned(),
        "http://127.0.0.2:1/v1.0/subscribedSkus".to_owned(),
    ] {
        let (_, err) = next_link_to(foreign.clone()).await;
        assert!(
            matches!(err, GraphError::ForeignUrl { .. }),
            "{foreign}: {err:?}"
        );
    }
}

#[tokio::test]
async fn next_link_leaving_the_version_root_is_refused() {
    let (_, err) = next_link_to("PLACEHOLDER".to_owned()).await;
    // Not even a URL: typed, not a panic.
    assert!(matches!(err, GraphError::Malformed { .. }), "{err:?}");
    let server = Scripted::start(|_, _| Reply::json(serde_json::json!({"value": []}))).await;
    let (_, err) = next_link_to(format!("{}/beta/subscribedSkus", server.base)).await;
    assert!(matches!(err, GraphError::ForeignUrl { .. }), "{err:?}");
    let (_, err) = next_link_to(format!("{}/v1.0evil/subscribedSkus", server.base)).await;
    assert!(matches!(err, GraphError::ForeignUrl { .. }), "{err:?}");
}

#[tokio::test]
async fn batch_item_urls_must_stay_on_the_graph_root() {
    let server = Scripted::start(|seen, _| {
        let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap_or_default();
        let responses: Vec<serde_json::Value> = body["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| serde_json::json!({"id": r["id"], "status": 200, "body": {"url": r["url"]}}))
            .collect();
        Reply::json(serde_json::json!({ "responses": responses }))
    })
    .await;
    let client = client_for(&server.base, TOKEN, fast_retry());
    let items = vec![
        BatchGet::new("https://evil.example/v1.0/groups"),
        BatchGet::new("//evil.example/v1.0/groups"),
        BatchGet::new(format!("{}/v1.0/groups/abc", server.base)),
        BatchGet::new("/groups/def"),
    ];
    let results = client.batch_get(&items).await;
    assert!(matches!(results[0], Err(GraphError::ForeignUrl { .. })));
    assert!(results[1].is_err());
    // A same-root absolute URL is sent relative; a relative one as is.
    assert_eq!(results[2].as_ref().unwrap().body["url"], "/groups/abc");
    assert_eq!(results[3].as_ref().unwrap().body["url"], "/groups/def");
    assert_eq!(server.seen().len(), 1);
}
