//! Clouds, endpoints, the http rule, and how the credential is chosen (no network).

use super::*;

// ---------------------------------------------------------------------------------------------
// Clouds and endpoints

#[test]
fn each_cloud_has_its_graph_and_login_hosts() {
    let expected = [
        (
            Cloud::Global,
            "global",
            "https://graph.microsoft.com/",
            "https://login.microsoftonline.com/",
        ),
        (
            Cloud::UsGov,
            "usgov",
            "https://graph.microsoft.us/",
            "https://login.microsoftonline.us/",
        ),
        (
            Cloud::UsGovDod,
            "usgovdod",
            "https://dod-graph.microsoft.us/",
            "https://login.microsoftonline.us/",
        ),
        (
            Cloud::China,
            "china",
            "https://microsoftgraph.chinacloudapi.cn/",
            "https://login.chinacloudapi.cn/",
        ),
    ];
    for (cloud, name, graph, login) in expected {
        assert_eq!(cloud.graph_url().as_str(), graph);
        assert_eq!(cloud.authority_url().as_str(), login);
        assert_eq!(name.parse::<Cloud>().unwrap(), cloud);
        assert_eq!(cloud.to_string(), name);
        let ep = Endpoints::for_cloud(cloud);
        assert_eq!(
            ep.scope(),
            format!("{}/.default", graph.trim_end_matches('/'))
        );
        assert_eq!(
            ep.token_url("contoso.onmicrosoft.com").as_str(),
            format!("{login}contoso.onmicrosoft.com/oauth2/v2.0/token")
        );
    }
    assert!("mars".parse::<Cloud>().is_err());
}

#[test]
fn overrides_win_over_the_cloud_and_env_loses_to_the_flag() {
    let ep = Endpoints::resolve(Cloud::China, None, None, None).unwrap();
    assert_eq!(ep, Endpoints::for_cloud(Cloud::China));

    let ep = Endpoints::resolve(
        Cloud::Global,
        Some("https://graph.proxy.example/base"),
        None,
        Some("https://login.env.example"),
    )
    .unwrap();
    assert_eq!(ep.graph().as_str(), "https://graph.proxy.example/base/");
    assert_eq!(ep.scope(), "https://graph.proxy.example/base/.default");
    assert_eq!(ep.authority().as_str(), "https://login.env.example/");

    let ep = Endpoints::resolve(
        Cloud::UsGov,
        None,
        Some("https://login.flag.example/"),
        Some("https://login.env.example"),
    )
    .unwrap();
    assert_eq!(ep.authority().as_str(), "https://login.flag.example/");
    assert_eq!(ep.graph().as_str(), "https://graph.microsoft.us/");
}

#[test]
fn plain_http_is_accepted_only_for_loopback() {
    for ok in [
        "http://127.0.0.1:8080",
        "http://127.45.6.7/",
        "http://[::1]:9/",
        "http://localhost:1/x",
        "https://graph.example.com",
    ] {
        Endpoints::resolve(Cloud::Global, Some(ok), Some(ok), None)
            .unwrap_or_else(|e| panic!("{ok} refused: {e}"));
    }
    for bad in [
        "http://graph.example.com",
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "http://[fe80::1]/",
        "http://localhost.evil.example/",
        "http://127.0.0.1.nip.io/",
    ] {
        let err = Endpoints::resolve(Cloud::Global, Some(bad), None, None).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::InsecureUrl {
                    what: "--graph-url",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
        let err = Endpoints::resolve(Cloud::Global, None, None, Some(bad)).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::InsecureUrl {
                    what: "AZURE_AUTHORITY_HOST",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains("use https"), "{err}");
    }
    for bad in [
        "ftp://graph.example.com/",
        "not a url",
        "https://user:pw@graph.example.com/",
    ] {
        let err = Endpoints::resolve(Cloud::Global, Some(bad), None, None).unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidUrl { .. }),
            "{bad}: {err:?}"
        );
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
}

#[test]
fn environment_is_searched_in_the_documented_order() {
    let mut vars = full_env(TEST_PEM);
    let order = [
        ("DEVLIC_ACCESS_TOKEN", AuthMode::AccessToken),
        ("AZURE_CLIENT_SECRET", AuthMode::ClientSecret),
        ("AZURE_CLIENT_CERTIFICATE_PATH", AuthMode::ClientCertificate),
        ("AZURE_FEDERATED_TOKEN_FILE", AuthMode::WorkloadIdentity),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", AuthMode::GitHubOidc),
        ("IDENTITY_ENDPOINT", AuthMode::ManagedIdentity),
    ];
    for (var, mode) in order {
        let cred = Credential::from_env(lookup_of(&vars), CredentialArgs::default()).unwrap();
        assert_eq!(cred.mode(), mode, "with {var} set");
        vars.retain(|(k, _)| *k != var);
    }
    // With IDENTITY_* gone nothing says how to sign in: devlic names what each mode needs
    // instead of guessing managed identity (issue 15: "answered HTTP 403" from IMDS off Azure).
    let err = Credential::from_env(lookup_of(&vars), CredentialArgs::default()).unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::NoCredentialFound {
                tenant_id: true,
                client_id: true
            }
        ),
        "{err:?}"
    );
    insta::assert_snapshot!("no_credential_with_tenant_and_client", err.to_string());
    // A VM or AKS node sets nothing: managed identity (IMDS) only when chosen; AZURE_CLIENT_ID
    // picks a user-assigned identity.
    let chosen = CredentialArgs {
        mode: Some(AuthMode::ManagedIdentity),
        ..Default::default()
    };
    match Credential::from_env(lookup_of(&vars), chosen).unwrap() {
        Credential::ManagedIdentity {
            client_id,
            endpoint,
            identity_header,
        } => {
            assert_eq!(client_id.as_deref(), Some("app-1"));
            assert_eq!(
                endpoint.as_str(),
                "http://169.254.169.254/metadata/identity/oauth2/token"
            );
            assert!(identity_header.is_none());
        }
        other => panic!("expected IMDS, got {other:?}"),
    }
    // Cloud Shell and Arc announce themselves with MSI_ENDPOINT / IMDS_ENDPOINT.
    for marker in ["MSI_ENDPOINT", "IMDS_ENDPOINT"] {
        let mut with = vars.clone();
        with.push((marker, "http://localhost:50342/oauth2/token".to_owned()));
        let cred = Credential::from_env(lookup_of(&with), CredentialArgs::default()).unwrap();
        assert_eq!(cred.mode(), AuthMode::ManagedIdentity, "{marker}");
    }
    // Nothing at all set: the same list, plus the two ids every app mode needs.
    let err = Credential::from_env(|_: &str| None, CredentialArgs::default()).unwrap_err();
    insta::assert_snapshot!("no_credential_nothing_set", err.to_string());
}

#[test]
fn auth_mode_names_and_aliases() {
    assert_eq!(
        "secret".parse::<AuthMode>().unwrap(),
        AuthMode::ClientSecret
    );
    assert_eq!(
        "Client-Secret".parse::<AuthMode>().unwrap(),
        AuthMode::ClientSecret
    );
    let err = "password".parse::<AuthMode>().unwrap_err();
    insta::assert_snapshot!("unknown_auth_mode", err.to_string());
}

#[test]
fn graph_url_with_an_api_version_is_corrected() {
    for (given, root, version) in [
        (
            "http://127.0.0.1:8080/v1.0",
            "http://127.0.0.1:8080/",
            Some("v1.0"),
        ),
        (
            "http://127.0.0.1:8080/v1.0/",
            "http://127.0.0.1:8080/",
            Some("v1.0"),
        ),
        (
            "https://graph.microsoft.com/beta",
            "https://graph.microsoft.com/",
            Some("beta"),
        ),
        (
            "https://proxy.example/graph/V1.0",
            "https://proxy.example/graph/",
            Some("v1.0"),
        ),
        (
            "https://graph.microsoft.com/",
            "https://graph.microsoft.com/",
            None,
        ),
        (
            "https://proxy.example/v1.0x",
            "https://proxy.example/v1.0x/",
            None,
        ),
    ] {
        let e = Endpoints::resolve(Cloud::Global, Some(given), None, None).unwrap();
        assert_eq!(e.graph().as_str(), root, "{given}");
        assert_eq!(e.stripped_version(), version, "{given}");
    }
    assert_eq!(Endpoints::for_cloud(Cloud::Global).stripped_version(), None);
}

#[test]
fn flags_come_before_the_environment() {
    let vars = full_env(TEST_PEM);
    let forced = |mode| CredentialArgs {
        mode: Some(mode),
        ..Default::default()
    };
    for mode in AuthMode::ALL {
        let cred = Credential::from_env(lookup_of(&vars), forced(mode)).unwrap();
        assert_eq!(cred.mode(), mode);
        assert_eq!(mode.name().parse::<AuthMode>().unwrap(), mode);
    }
    // --certificate wins over AZURE_CLIENT_SECRET and DEVLIC_ACCESS_TOKEN; --client-id over AZURE_CLIENT_ID.
    let args = CredentialArgs {
        certificate_path: Some(PathBuf::from(TEST_PEM)),
        client_id: Some("app-from-flag".to_owned()),
        ..Default::default()
    };
    match Credential::from_env(lookup_of(&vars), args).unwrap() {
        Credential::ClientCertificate {
            client_id,
            certificate,
        } => {
            assert_eq!(client_id, "app-from-flag");
            assert_eq!(certificate.path(), Path::new(TEST_PEM));
            assert_eq!(certificate.thumbprint_s256().len(), 43);
        }
        other => panic!("expected certificate, got {other:?}"),
    }
    let args = CredentialArgs {
        federated_token_file: Some("/tmp/flag-token".into()),
        ..Default::default()
    };
    match Credential::from_env(lookup_of(&vars), args).unwrap() {
        Credential::WorkloadIdentity { token_file, .. } => {
            assert_eq!(token_file, Path::new("/tmp/flag-token"))
        }
        other => panic!("expected workload identity, got {other:?}"),
    }
}

#[test]
fn missing_or_bad_settings_are_typed_errors_with_hints() {
    let err = Credential::from_env(
        env(&[("AZURE_CLIENT_SECRET", SECRET), ("AZURE_CLIENT_ID", "a")]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::MissingSetting {
                what: "AZURE_TENANT_ID",
                ..
            }
        ),
        "{err:?}"
    );
    let err = Credential::from_env(
        env(&[("AZURE_CLIENT_SECRET", SECRET), ("AZURE_TENANT_ID", "t")]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::MissingSetting {
                what: "AZURE_CLIENT_ID",
                ..
            }
        ),
        "{err:?}"
    );
    let err = Credential::from_env(
        env(&[
            ("AZURE_CLIENT_SECRET", SECRET),
            ("AZURE_CLIENT_ID", "a"),
            ("AZURE_TENANT_ID", "x/../../evil"),
        ]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(matches!(err, AuthError::InvalidConfig { .. }), "{err:?}");
    // Empty values count as unset.
    let err = Credential::from_env(
        env(&[("DEVLIC_ACCESS_TOKEN", " "), ("AZURE_CLIENT_SECRET", "")]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, AuthError::NoCredentialFound { .. }),
        "{err:?}"
    );
    let err = Credential::from_env(
        env(&[]),
        CredentialArgs {
            mode: Some(AuthMode::GitHubOidc),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("id-token: write"), "{err}");
    let err = Credential::from_env(
        env(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "a"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://gh.example/x"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", GH_REQUEST_TOKEN),
        ]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(matches!(err, AuthError::InsecureUrl { .. }), "{err:?}");
    let err = Credential::from_env(
        env(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "a"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", "/nonexistent/cert.pem"),
        ]),
        CredentialArgs::default(),
    )
    .unwrap_err();
    assert!(matches!(err, AuthError::Certificate { .. }), "{err:?}");
    assert!("bogus".parse::<AuthMode>().is_err());
}
