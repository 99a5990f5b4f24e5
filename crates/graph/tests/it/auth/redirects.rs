//! Sign-in never follows a redirect (issue 14): a 3xx from the token endpoint, the GitHub OIDC
//! endpoint or a managed-identity endpoint is a typed error, is not retried, and the redirect
//! target receives nothing (no client secret, no assertion, no identity header). Token answers
//! whose lifetime is not positive and plausible are refused.

use super::scripted::Scripted;
use super::*;

/// A server that would hand out a token to anyone: the place a hostile redirect points to.
async fn redirect_target() -> Scripted {
    Scripted::start(vec![token_body("tok-stolen", 3600)]).await
}

/// A server answering every request with `status` and a `location` pointing to `target`.
async fn redirecting(status: u16, target: &Scripted, path: &str) -> Scripted {
    let location = target.url.join(path).unwrap();
    Scripted::start_with_headers(vec![(
        status,
        format!("location: {location}\r\n"),
        String::new(),
    )])
    .await
}

fn assert_refused(err: &AuthError, status: u16, front: &Scripted, target: &Scripted, case: &str) {
    assert!(
        matches!(err, AuthError::Redirected { status: s, .. } if *s == status),
        "{case}: {err:?}"
    );
    assert!(err.to_string().contains("never follows redirects"), "{err}");
    assert_eq!(
        front.requests().len(),
        1,
        "{case}: a redirect is not retried"
    );
    assert!(
        target.requests().is_empty(),
        "{case}: the redirect target received {:?}",
        target.requests()
    );
}

fn federated_credential(dir: &Path) -> Credential {
    let file = dir.join("azure-identity-token");
    std::fs::write(&file, "projected-token-must-not-travel\n").unwrap();
    Credential::WorkloadIdentity {
        client_id: "app-k8s".to_owned(),
        token_file: file,
    }
}

fn certificate_credential() -> Credential {
    let vars = [
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "app-cert"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", TEST_PEM),
    ];
    Credential::from_env(env(&vars), CredentialArgs::default()).unwrap()
}

#[tokio::test]
async fn token_endpoint_redirects_are_refused_for_every_confidential_credential() {
    let dir = tempfile::tempdir().unwrap();
    for status in [301, 302, 303, 307, 308] {
        let credentials = [
            ("client secret", secret_credential()),
            ("certificate assertion", certificate_credential()),
            ("federated assertion", federated_credential(dir.path())),
        ];
        for (case, credential) in credentials {
            let target = redirect_target().await;
            let front = redirecting(status, &target, "t/oauth2/v2.0/token").await;
            let provider = TokenProvider::new(credential, front.endpoints(), "t", sign_in_http())
                .with_retry(fast_retry(3));
            let err = provider.token().await.unwrap_err();
            assert_refused(&err, status, &front, &target, &format!("{case} {status}"));
            // What the front saw is the only copy of the credential that left devlic.
            let body = &front.requests()[0].body;
            assert!(
                body.contains("client_secret") || body.contains("client_assertion"),
                "{case}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn managed_identity_redirects_are_refused_with_and_without_the_identity_header() {
    for status in [302, 307, 308] {
        for header in [Some(SecretString::from(IDENTITY_HEADER)), None] {
            let case = format!("managed identity {status} header={}", header.is_some());
            let target = Scripted::start(vec![(
                200,
                format!(
                    r#"{{"access_token":"tok-stolen","expires_on":"{}"}}"#,
                    Timestamp::now().as_second() + 3600
                ),
            )])
            .await;
            let front = redirecting(status, &target, "msi/token").await;
            let credential = Credential::ManagedIdentity {
                client_id: None,
                endpoint: front.url.join("msi/token").unwrap(),
                identity_header: header,
            };
            let provider = TokenProvider::new(credential, front.endpoints(), "", sign_in_http())
                .with_retry(fast_retry(3));
            let err = provider.token().await.unwrap_err();
            assert_refused(&err, status, &front, &target, &case);
        }
    }
}

#[tokio::test]
async fn github_oidc_redirect_is_refused_and_the_request_token_stays_home() {
    let target = redirect_target().await;
    let front = redirecting(307, &target, "idtoken").await;
    let credential = Credential::GitHubOidc {
        client_id: "app-gh".to_owned(),
        request_url: front.url.join("idtoken?api-version=2.0").unwrap(),
        request_token: SecretString::from(GH_REQUEST_TOKEN),
    };
    let provider = TokenProvider::new(credential, front.endpoints(), "t", sign_in_http())
        .with_retry(fast_retry(3));
    let err = provider.token().await.unwrap_err();
    assert_refused(&err, 307, &front, &target, "github oidc");
    assert!(!err.to_string().contains(GH_REQUEST_TOKEN));
}

#[tokio::test]
async fn token_lifetimes_that_are_not_positive_and_plausible_are_refused() {
    let now = Timestamp::now().as_second();
    for (case, body) in [
        ("zero", r#"{"access_token":"x","expires_in":0}"#.to_owned()),
        (
            "negative",
            r#"{"access_token":"x","expires_in":-30}"#.to_owned(),
        ),
        (
            "negative string",
            r#"{"access_token":"x","expires_in":"-1"}"#.to_owned(),
        ),
        ("missing", r#"{"access_token":"x"}"#.to_owned()),
        (
            "absurd",
            r#"{"access_token":"x","expires_in":31536000}"#.to_owned(),
        ),
        (
            "overflow",
            r#"{"access_token":"x","expires_in":9223372036854775807}"#.to_owned(),
        ),
        (
            "not an integer",
            r#"{"access_token":"x","expires_in":1e300}"#.to_owned(),
        ),
        (
            "expires_on in the past",
            format!(r#"{{"access_token":"x","expires_on":"{}"}}"#, now - 10),
        ),
    ] {
        let server = Scripted::start(vec![(200, body.clone())]).await;
        let provider =
            TokenProvider::new(secret_credential(), server.endpoints(), "t", sign_in_http())
                .with_retry(fast_retry(3));
        let err = provider.token().await.unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidResponse { .. }),
            "{case} ({body}): {err:?}"
        );
        assert_eq!(server.requests().len(), 1, "{case}: not retried");
    }
    // The longest lifetime accepted: a managed identity's 24 hours.
    let server = Scripted::start(vec![token_body("tok-day", 24 * 3600 - 5)]).await;
    let provider = TokenProvider::new(secret_credential(), server.endpoints(), "t", sign_in_http());
    assert_eq!(provider.token().await.unwrap().secret(), "tok-day");
}

#[test]
fn authority_urls_with_a_query_or_fragment_are_refused_like_graph_urls() {
    for bad in [
        "https://login.example/?x=1",
        "https://login.example/#f",
        "http://login.example/",
    ] {
        let err = Endpoints::resolve(Cloud::Global, None, Some(bad), None).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::InvalidUrl { .. } | AuthError::InsecureUrl { .. }
            ),
            "{bad}: {err:?}"
        );
        let err = Endpoints::resolve(Cloud::Global, None, None, Some(bad)).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::InvalidUrl { .. } | AuthError::InsecureUrl { .. }
            ),
            "{bad} (AZURE_AUTHORITY_HOST): {err:?}"
        );
        let err = Endpoints::resolve(Cloud::Global, Some(bad), None, None).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::InvalidUrl { .. } | AuthError::InsecureUrl { .. }
            ),
            "{bad} (--graph-url): {err:?}"
        );
    }
    let ok = Url::parse("http://127.0.0.1:9/").unwrap();
    assert!(Endpoints::custom(ok.clone(), ok.join("?q=1").unwrap()).is_err());
    assert!(Endpoints::custom(ok.clone(), ok).is_ok());
}
