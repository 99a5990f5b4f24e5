//! Auth flows: clouds and endpoints, credential selection, the token flows over HTTP (against the
//! Graph simulator and a scripted loopback server for exact wire checks), caching, refresh,
//! retries, typed Entra errors, and that no secret ever shows in Debug or error output.

mod config;
mod redirects;
mod scripted;
mod sim;
mod wire;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use devlic_graph::auth::{
    AuthError, AuthMode, Clock, Cloud, Credential, CredentialArgs, DeviceCodePrompt, Endpoints,
    RetryPolicy, StaticToken, TokenProvider, TokenSource,
};
use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

const TEST_PEM: &str = "tests/data/test-only-client-cert.pem";
const SECRET: &str = "known-client-secret-Zq81";
const GH_REQUEST_TOKEN: &str = "known-gh-request-token-Vb55";
const STATIC: &str = "known-static-access-token-Ut3";
const IDENTITY_HEADER: &str = "known-identity-header-Pp07";

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

/// A quick sign-in retry policy: `retries == 0` never retries; otherwise transient failures are
/// retried after a few milliseconds for up to 300 ms (a time limit, not a count, so tests that
/// exhaust it assert "retried", not an exact number of requests).
fn fast_retry(retries: u32) -> RetryPolicy {
    if retries == 0 {
        return RetryPolicy::none();
    }
    RetryPolicy {
        base: Duration::from_millis(2),
        cap: Duration::from_millis(5),
        max_elapsed: Duration::from_millis(300),
    }
}

/// A sign-in client from the crate's one client factory (loopback, so no proxy).
fn sign_in_http() -> devlic_graph::HttpClient {
    let loopback = Url::parse("http://127.0.0.1:1/").unwrap();
    let endpoints = Endpoints::custom(loopback.clone(), loopback).unwrap();
    devlic_graph::HttpClient::for_sign_in(&endpoints, &devlic_graph::Timeouts::default()).unwrap()
}

/// A clock that tests can move forward.
#[derive(Clone, Default)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn clock(&self) -> Clock {
        let offset = self.0.clone();
        Arc::new(move || {
            Timestamp::now() + SignedDuration::from_secs(offset.load(Ordering::SeqCst))
        })
    }
    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

fn token_body(token: &str, expires_in: i64) -> (u16, String) {
    (
        200,
        format!(r#"{{"token_type":"Bearer","expires_in":{expires_in},"access_token":"{token}"}}"#),
    )
}

fn form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn secret_credential() -> Credential {
    Credential::ClientSecret {
        client_id: "app-1".to_owned(),
        secret: SecretString::from(SECRET),
    }
}

fn full_env(cert: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_TENANT_ID", "contoso.onmicrosoft.com".to_owned()),
        ("AZURE_CLIENT_ID", "app-1".to_owned()),
        ("DEVLIC_ACCESS_TOKEN", STATIC.to_owned()),
        ("AZURE_CLIENT_SECRET", SECRET.to_owned()),
        ("AZURE_CLIENT_CERTIFICATE_PATH", cert.to_owned()),
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            "/var/run/secrets/azure/tokens/azure-identity-token".to_owned(),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "https://pipelines.actions.example/idtoken?api-version=2.0".to_owned(),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            GH_REQUEST_TOKEN.to_owned(),
        ),
        (
            "IDENTITY_ENDPOINT",
            "http://localhost:42356/msi/token".to_owned(),
        ),
        ("IDENTITY_HEADER", IDENTITY_HEADER.to_owned()),
    ]
}

fn lookup_of(vars: &[(&'static str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<&'static str, String> = vars.iter().cloned().collect();
    move |k| map.get(k).cloned()
}

fn jwt_part(jwt: &str, index: usize) -> serde_json::Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
