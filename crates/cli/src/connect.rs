//! Building the Graph client from the connection flags and the environment.
//!
//! Secrets are read from the environment only (inside `devlic_graph::auth::token_source`); this
//! module never sees or stores one.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use devlic_applier::AnyBackend;
use devlic_graph::auth::{
    AuthError, AuthMode, Cloud, CredentialArgs, DeviceCodePrompt, Endpoints, token_source,
};
use devlic_graph::{ApiVersion, ClientConfig, GraphClient, HttpClient, Timeouts};
use devlic_model::{Backend, BackendSetting};

use crate::cli::{BackendArg, CloudArg, ConnectArgs};
use crate::error::CliError;

const CREDENTIAL_HELP: &str = "set AZURE_TENANT_ID and AZURE_CLIENT_ID plus one credential: \
AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH (or --certificate), AZURE_FEDERATED_TOKEN_FILE \
(or --federated-token-file), GitHub OIDC, a managed identity, or DEVLIC_ACCESS_TOKEN; sign in \
as yourself with --auth device-code or --auth azure-cli; or plan offline with --snapshot FILE";

impl From<CloudArg> for Cloud {
    fn from(c: CloudArg) -> Cloud {
        match c {
            CloudArg::Global => Cloud::Global,
            CloudArg::Usgov => Cloud::UsGov,
            CloudArg::Usgovdod => Cloud::UsGovDod,
            CloudArg::China => Cloud::China,
        }
    }
}

impl From<BackendArg> for BackendSetting {
    fn from(b: BackendArg) -> BackendSetting {
        match b {
            BackendArg::Auto => BackendSetting::Auto,
            BackendArg::GroupLicensing => BackendSetting::Fixed(Backend::GroupLicensing),
            BackendArg::CloudLicensing => BackendSetting::Fixed(Backend::CloudLicensing),
        }
    }
}

/// Reads an environment variable; empty counts as unset.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Builds a Graph client for `api_version` from the flags and the environment.
pub fn client(args: &ConnectArgs, api_version: ApiVersion) -> Result<GraphClient, CliError> {
    client_from(config(args)?, api_version)
}

/// Builds a Graph client from a [`config`] for `api_version`. Clients built from clones of one
/// configuration share its token source, so a second client signs in no second time.
pub fn client_from(
    mut config: ClientConfig,
    api_version: ApiVersion,
) -> Result<GraphClient, CliError> {
    config.api_version = api_version;
    GraphClient::new(config).map_err(|e| {
        CliError::new(
            format!("invalid connection settings: {e}"),
            "check --graph-url and --read-concurrency (at least 1)",
        )
    })
}

/// The Graph client configuration from the flags and the environment (signing in is lazy: the
/// first request fetches the token).
pub fn config(args: &ConnectArgs) -> Result<ClientConfig, CliError> {
    let endpoints = Endpoints::resolve(
        args.cloud.into(),
        args.graph_url.as_deref(),
        args.authority_url.as_deref(),
        env("AZURE_AUTHORITY_HOST").as_deref(),
    )
    .map_err(|e| {
        CliError::new(
            format!("invalid endpoint: {e}"),
            "give an https URL (plain http only to 127.0.0.1 or localhost, e.g. the simulator)",
        )
    })?;
    if let Some(version) = endpoints.stripped_version() {
        // Graph Explorer shows URLs with the version in them; devlic adds it itself.
        let _ = writeln!(
            anstream::stderr(),
            "note: the Graph URL (--graph-url or DEVLIC_GRAPH_URL) ended in /{version}; devlic adds \
the API version itself, so it uses {} (give the bare root to silence this note)",
            endpoints.graph()
        );
    }
    let mode = match &args.auth {
        Some(m) => Some(m.parse::<AuthMode>().map_err(|e| {
            CliError::new(
                e.to_string(),
                "pick one of the modes listed, or leave --auth out to detect it from the environment",
            )
        })?),
        None => None,
    };
    let explicit = CredentialArgs {
        mode,
        tenant_id: args.tenant_id.clone(),
        client_id: args.client_id.clone(),
        certificate_path: args.certificate.clone(),
        federated_token_file: args.federated_token_file.clone(),
        // The device-code instructions are for the person at the terminal: stderr, as is.
        device_code_prompt: Some(DeviceCodePrompt(Arc::new(|message: &str| {
            let _ = writeln!(anstream::stderr(), "{message}");
        }))),
    };
    // Sign-in and Graph share devlic_graph's one client factory (no redirects, rustls, timeouts).
    let timeouts = timeouts(args)?;
    let http = HttpClient::for_sign_in(&endpoints, &timeouts).map_err(|e| {
        CliError::new(
            format!("invalid sign-in settings: {e}"),
            "give --authority-url as a bare https base URL (plain http only to 127.0.0.1 or localhost)",
        )
    })?;
    let graph_url = endpoints.graph().clone();
    let tokens = token_source(
        |k| std::env::var(k).ok(),
        explicit,
        endpoints,
        http.clone(),
    )
    .map_err(|e| match e {
            // The error already lists every mode by what it needs.
            AuthError::NoCredentialFound { .. } => CliError::new(
                format!("cannot sign in: {e}"),
                "or plan offline with --snapshot FILE; docs/quickstart.md shows each way to sign in",
            ),
            e => CliError::new(format!("cannot sign in: {e}"), CREDENTIAL_HELP),
        })?;
    let mut config = ClientConfig::new(graph_url, tokens);
    config.concurrency = args.read_concurrency;
    config.timeouts = timeouts;
    config.http = Some(http);
    Ok(config)
}

/// The `--connect-timeout`, `--request-timeout` and `--timeout` flags, validated.
fn timeouts(args: &ConnectArgs) -> Result<Timeouts, CliError> {
    let secs = |v: f64, flag: &str| {
        Duration::try_from_secs_f64(v)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                CliError::new(
                    format!("{flag} must be a number of seconds above 0 (got {v})"),
                    format!("leave {flag} out for its default, or give e.g. {flag} 30"),
                )
            })
    };
    Ok(Timeouts {
        connect: secs(args.connect_timeout, "--connect-timeout")?,
        request: secs(args.request_timeout, "--request-timeout")?,
        overall: secs(args.timeout, "--timeout")?,
    })
}

/// Connects the licensing backend `backend` (a Graph client for its API version, wrapped in the
/// applier's dispatcher): the one way commands get at the tenant.
pub fn backend(args: &ConnectArgs, backend: Backend) -> Result<AnyBackend, CliError> {
    let client = client(args, devlic_applier::api_version(backend))?;
    Ok(AnyBackend::new(backend, client))
}
