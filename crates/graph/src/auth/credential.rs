//! Which credential to sign in with, chosen from flags and the conventional environment variables.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use secrecy::SecretString;
use url::Url;

use crate::http::HttpClient;

use super::{
    AuthError, ClientCertificate, Endpoints, StaticToken, TokenKind, TokenProvider, TokenSource,
};

/// The Azure Instance Metadata Service token endpoint (managed identity on VMs, AKS nodes...).
/// It is plain http to a link-local address by design; it is the only non-loopback http URL
/// devlic accepts, and only for managed identity.
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// Variables whose presence means "this process runs where a managed identity answers".
const MANAGED_IDENTITY_MARKERS: [&str; 3] = ["IDENTITY_ENDPOINT", "IMDS_ENDPOINT", "MSI_ENDPOINT"];

/// A sign-in mode forced with a flag (`--auth MODE`), bypassing auto-detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// `token`: `DEVLIC_ACCESS_TOKEN`.
    AccessToken,
    /// `client-secret` (or `secret`): `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// `certificate`: `AZURE_CLIENT_CERTIFICATE_PATH` or `--certificate`.
    ClientCertificate,
    /// `workload-identity`: `AZURE_FEDERATED_TOKEN_FILE` or `--federated-token-file`.
    WorkloadIdentity,
    /// `github`: `ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    GitHubOidc,
    /// `managed-identity`: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, else IMDS.
    ManagedIdentity,
    /// `device-code`: a person signs in in a browser with a code (delegated permissions).
    DeviceCode,
    /// `azure-cli`: the token of the account signed in with `az login`.
    AzureCli,
}

impl AuthMode {
    /// Every mode: the six detected from the environment in detection order, then the two a
    /// person chooses with `--auth` (never detected: they need a person or a local `az login`).
    pub const ALL: [AuthMode; 8] = [
        AuthMode::AccessToken,
        AuthMode::ClientSecret,
        AuthMode::ClientCertificate,
        AuthMode::WorkloadIdentity,
        AuthMode::GitHubOidc,
        AuthMode::ManagedIdentity,
        AuthMode::DeviceCode,
        AuthMode::AzureCli,
    ];

    /// The name used by `--auth`.
    pub fn name(self) -> &'static str {
        match self {
            AuthMode::AccessToken => "token",
            AuthMode::ClientSecret => "client-secret",
            AuthMode::ClientCertificate => "certificate",
            AuthMode::WorkloadIdentity => "workload-identity",
            AuthMode::GitHubOidc => "github",
            AuthMode::ManagedIdentity => "managed-identity",
            AuthMode::DeviceCode => "device-code",
            AuthMode::AzureCli => "azure-cli",
        }
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AuthMode {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        // `secret` was the name of client-secret before 0.2; scripts may still say it.
        if wanted.eq_ignore_ascii_case("secret") {
            return Ok(AuthMode::ClientSecret);
        }
        AuthMode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| AuthError::InvalidConfig {
                reason: format!(
                    "unknown auth mode {s:?}; use one of {}",
                    AuthMode::ALL.map(AuthMode::name).join(", ")
                ),
            })
    }
}

/// What the command line said about signing in. Every field overrides its environment variable.
/// Secrets have no flag on purpose: command lines are visible to other users in `ps`.
#[derive(Debug, Clone, Default)]
pub struct CredentialArgs {
    /// `--auth MODE`: use this mode and fail if its settings are missing.
    pub mode: Option<AuthMode>,
    /// `--tenant-id` (overrides `AZURE_TENANT_ID`).
    pub tenant_id: Option<String>,
    /// `--client-id` (overrides `AZURE_CLIENT_ID`).
    pub client_id: Option<String>,
    /// `--certificate PATH` (overrides `AZURE_CLIENT_CERTIFICATE_PATH`; implies certificate mode).
    pub certificate_path: Option<PathBuf>,
    /// `--federated-token-file PATH` (overrides `AZURE_FEDERATED_TOKEN_FILE`; implies workload identity).
    pub federated_token_file: Option<PathBuf>,
    /// Shows the device-code sign-in instructions to the person at the terminal (the CLI prints
    /// them to stderr). Without it they go to a `tracing` warning.
    pub device_code_prompt: Option<DeviceCodePrompt>,
}

/// Microsoft Graph Command Line Tools, Microsoft's public client that `Connect-MgGraph` signs in
/// with: the default client id of device-code sign-in when `AZURE_CLIENT_ID` is not set.
pub const GRAPH_CLI_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/// Shows the device-code sign-in message ("open <https://microsoft.com/devicelogin> and enter the
/// code ...") to a person. The message holds no secret: the user code is useless without the
/// device code, which never leaves devlic.
#[derive(Clone)]
pub struct DeviceCodePrompt(pub Arc<dyn Fn(&str) + Send + Sync>);

impl fmt::Debug for DeviceCodePrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceCodePrompt")
    }
}

/// How devlic signs in. `Debug` never shows a secret (they are [`SecretString`]s).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Credential {
    /// An app registration's client secret.
    ClientSecret {
        /// The application (client) id.
        client_id: String,
        /// The secret value.
        secret: SecretString,
    },
    /// An app registration's certificate: devlic signs a JWT client assertion with its key.
    ClientCertificate {
        /// The application (client) id.
        client_id: String,
        /// The loaded key and certificate.
        certificate: ClientCertificate,
    },
    /// Workload identity federation from a token file (Kubernetes). The file is re-read on every
    /// refresh because the kubelet rotates it.
    WorkloadIdentity {
        /// The application (client) id.
        client_id: String,
        /// The projected service-account token.
        token_file: PathBuf,
    },
    /// Workload identity federation from GitHub Actions' OIDC endpoint.
    GitHubOidc {
        /// The application (client) id.
        client_id: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
        request_url: Url,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
        request_token: SecretString,
    },
    /// An Azure managed identity.
    ManagedIdentity {
        /// A user-assigned identity's client id; `None` for the system-assigned identity.
        client_id: Option<String>,
        /// The token endpoint: `IDENTITY_ENDPOINT` (App Service, Functions, Container Apps) or IMDS.
        endpoint: Url,
        /// `IDENTITY_HEADER`, sent as `X-IDENTITY-HEADER` (App Service form); `None` for IMDS
        /// (which gets `Metadata: true` instead).
        identity_header: Option<SecretString>,
    },
    /// A pre-issued access token (`DEVLIC_ACCESS_TOKEN`).
    StaticToken(SecretString),
    /// A person signs in with the OAuth 2.0 device authorization grant: devlic shows a code,
    /// the person enters it at the verification page and signs in, devlic polls for the token.
    /// The token is delegated: Graph allows what the app's consented delegated permissions and
    /// the person's admin roles both allow.
    DeviceCode {
        /// A public client's application id (default [`GRAPH_CLI_CLIENT_ID`]).
        client_id: String,
        /// Where the sign-in message goes.
        prompt: Option<DeviceCodePrompt>,
    },
    /// The Azure CLI's signed-in account: `az account get-access-token --resource GRAPH`.
    AzureCli {
        /// `--tenant` for `az` (the tenant given to devlic), else the CLI's default tenant.
        tenant_id: Option<String>,
    },
}

impl Credential {
    /// The mode of this credential.
    pub fn mode(&self) -> AuthMode {
        match self {
            Credential::ClientSecret { .. } => AuthMode::ClientSecret,
            Credential::ClientCertificate { .. } => AuthMode::ClientCertificate,
            Credential::WorkloadIdentity { .. } => AuthMode::WorkloadIdentity,
            Credential::GitHubOidc { .. } => AuthMode::GitHubOidc,
            Credential::ManagedIdentity { .. } => AuthMode::ManagedIdentity,
            Credential::StaticToken(_) => AuthMode::AccessToken,
            Credential::DeviceCode { .. } => AuthMode::DeviceCode,
            Credential::AzureCli { .. } => AuthMode::AzureCli,
        }
    }

    /// The kind of token this credential gets: delegated for the two modes a person signs in
    /// with, unknown for a token handed over as is, app-only for the rest.
    pub fn token_kind(&self) -> TokenKind {
        match self {
            Credential::DeviceCode { .. } | Credential::AzureCli { .. } => TokenKind::Delegated,
            Credential::StaticToken(_) => TokenKind::Unknown,
            Credential::ClientSecret { .. }
            | Credential::ClientCertificate { .. }
            | Credential::WorkloadIdentity { .. }
            | Credential::GitHubOidc { .. }
            | Credential::ManagedIdentity { .. } => TokenKind::Application,
        }
    }

    /// Whether the token flow needs a tenant (everything but managed identity, a static token,
    /// the Azure CLI, which knows its own, and device code, which falls back to
    /// `organizations`: any work or school account's home tenant).
    pub fn needs_tenant(&self) -> bool {
        !matches!(
            self,
            Credential::ManagedIdentity { .. }
                | Credential::StaticToken(_)
                | Credential::DeviceCode { .. }
                | Credential::AzureCli { .. }
        )
    }

    /// Chooses a credential. `lookup` reads a variable (pass `|k| std::env::var(k).ok()`; tests
    /// pass a map so they stay hermetic); empty values count as unset.
    ///
    /// Order, first match wins:
    /// 1. Flags: `--auth MODE` forces that mode; otherwise `--certificate` implies certificate
    ///    and `--federated-token-file` implies workload identity.
    /// 2. `DEVLIC_ACCESS_TOKEN`: a token handed over explicitly is the most specific instruction.
    /// 3. `AZURE_CLIENT_SECRET`, then 4. `AZURE_CLIENT_CERTIFICATE_PATH` (the order of the Azure
    ///    SDKs' environment credential), with `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`.
    /// 5. `AZURE_FEDERATED_TOKEN_FILE` (Kubernetes workload identity).
    /// 6. `ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (GitHub Actions with
    ///    `permissions: id-token: write`).
    /// 7. Managed identity, only when the environment says the process runs on Azure
    ///    (`IDENTITY_ENDPOINT`, `IMDS_ENDPOINT` or `MSI_ENDPOINT` is set, as App Service,
    ///    Functions, Container Apps, Arc and Cloud Shell do): `IDENTITY_ENDPOINT` +
    ///    `IDENTITY_HEADER` (App Service form), else IMDS at 169.254.169.254; `AZURE_CLIENT_ID`
    ///    selects a user-assigned identity. On a VM or AKS node, where nothing is set, choose it
    ///    with `--auth managed-identity`.
    ///
    /// When nothing matches, the error is [`AuthError::NoCredentialFound`], which lists what
    /// each mode needs; devlic never falls back to managed identity on its own.
    pub fn from_env(
        lookup: impl Fn(&str) -> Option<String>,
        explicit: CredentialArgs,
    ) -> Result<Credential, AuthError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mode = match explicit.mode {
            Some(m) => m,
            None if explicit.certificate_path.is_some() => AuthMode::ClientCertificate,
            None if explicit.federated_token_file.is_some() => AuthMode::WorkloadIdentity,
            None if get("DEVLIC_ACCESS_TOKEN").is_some() => AuthMode::AccessToken,
            None if get("AZURE_CLIENT_SECRET").is_some() => AuthMode::ClientSecret,
            None if get("AZURE_CLIENT_CERTIFICATE_PATH").is_some() => AuthMode::ClientCertificate,
            None if get("AZURE_FEDERATED_TOKEN_FILE").is_some() => AuthMode::WorkloadIdentity,
            None if get("ACTIONS_ID_TOKEN_REQUEST_URL").is_some()
                && get("ACTIONS_ID_TOKEN_REQUEST_TOKEN").is_some() =>
            {
                AuthMode::GitHubOidc
            }
            None if MANAGED_IDENTITY_MARKERS.iter().any(|k| get(k).is_some()) => {
                AuthMode::ManagedIdentity
            }
            // Nothing says how to sign in. Never guess managed identity here: off Azure it
            // only yields "169.254.169.254 answered 403" instead of naming what is missing.
            None => {
                return Err(AuthError::NoCredentialFound {
                    tenant_id: explicit.tenant_id.is_some() || get("AZURE_TENANT_ID").is_some(),
                    client_id: explicit.client_id.is_some() || get("AZURE_CLIENT_ID").is_some(),
                });
            }
        };
        let client_id = explicit
            .client_id
            .clone()
            .or_else(|| get("AZURE_CLIENT_ID"));
        let app_id = || {
            client_id.clone().ok_or(AuthError::MissingSetting {
                what: "AZURE_CLIENT_ID",
                hint: "set it (or --client-id) to the application (client) id of devlic's app registration",
            })
        };
        let credential = match mode {
            AuthMode::AccessToken => Credential::StaticToken(SecretString::from(
                get("DEVLIC_ACCESS_TOKEN").ok_or(AuthError::MissingSetting {
                    what: "DEVLIC_ACCESS_TOKEN",
                    hint: "set it to a Graph access token, or choose another --auth mode",
                })?,
            )),
            AuthMode::ClientSecret => Credential::ClientSecret {
                client_id: app_id()?,
                secret: SecretString::from(get("AZURE_CLIENT_SECRET").ok_or(
                    AuthError::MissingSetting {
                        what: "AZURE_CLIENT_SECRET",
                        hint: "set it to the client secret's value (it has no flag so it stays out of process listings)",
                    },
                )?),
            },
            AuthMode::ClientCertificate => {
                let path = explicit
                    .certificate_path
                    .clone()
                    .or_else(|| get("AZURE_CLIENT_CERTIFICATE_PATH").map(PathBuf::from))
                    .ok_or(AuthError::MissingSetting {
                        what: "AZURE_CLIENT_CERTIFICATE_PATH",
                        hint: "set it (or --certificate) to a PEM file holding the private key and the certificate",
                    })?;
                Credential::ClientCertificate {
                    client_id: app_id()?,
                    certificate: ClientCertificate::from_file(&path)?,
                }
            }
            AuthMode::WorkloadIdentity => Credential::WorkloadIdentity {
                client_id: app_id()?,
                token_file: explicit
                    .federated_token_file
                    .clone()
                    .or_else(|| get("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from))
                    .ok_or(AuthError::MissingSetting {
                        what: "AZURE_FEDERATED_TOKEN_FILE",
                        hint: "set it (or --federated-token-file); on AKS the workload identity webhook sets it when the pod's service account is annotated",
                    })?,
            },
            AuthMode::GitHubOidc => {
                let missing = AuthError::MissingSetting {
                    what: "ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    hint: "GitHub sets them only for jobs with `permissions: id-token: write`",
                };
                let raw_url = get("ACTIONS_ID_TOKEN_REQUEST_URL").ok_or(missing)?;
                let request_url =
                    Url::parse(raw_url.trim()).map_err(|e| AuthError::InvalidUrl {
                        what: "ACTIONS_ID_TOKEN_REQUEST_URL",
                        reason: e.to_string(),
                    })?;
                super::ensure_secure_url(&request_url, "ACTIONS_ID_TOKEN_REQUEST_URL")?;
                let request_token = get("ACTIONS_ID_TOKEN_REQUEST_TOKEN").ok_or(
                    AuthError::MissingSetting {
                        what: "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                        hint: "GitHub sets it only for jobs with `permissions: id-token: write`",
                    },
                )?;
                Credential::GitHubOidc {
                    client_id: app_id()?,
                    request_url,
                    request_token: SecretString::from(request_token),
                }
            }
            AuthMode::ManagedIdentity => managed_identity(&get, client_id)?,
            AuthMode::DeviceCode => Credential::DeviceCode {
                client_id: client_id.unwrap_or_else(|| GRAPH_CLI_CLIENT_ID.to_owned()),
                prompt: explicit.device_code_prompt.clone(),
            },
            AuthMode::AzureCli => Credential::AzureCli {
                tenant_id: match explicit.tenant_id.as_ref().or(get("AZURE_TENANT_ID").as_ref()) {
                    Some(_) => Some(tenant(&lookup, &explicit)?),
                    None => None,
                },
            },
        };
        // Checked last so a missing mode-specific variable is reported first.
        if credential.needs_tenant() {
            tenant(&lookup, &explicit)?;
        }
        Ok(credential)
    }
}

fn managed_identity(
    get: &impl Fn(&str) -> Option<String>,
    client_id: Option<String>,
) -> Result<Credential, AuthError> {
    match (get("IDENTITY_ENDPOINT"), get("IDENTITY_HEADER")) {
        (Some(endpoint), Some(header)) => {
            let endpoint = Url::parse(endpoint.trim()).map_err(|e| AuthError::InvalidUrl {
                what: "IDENTITY_ENDPOINT",
                reason: e.to_string(),
            })?;
            super::ensure_secure_url(&endpoint, "IDENTITY_ENDPOINT")?;
            Ok(Credential::ManagedIdentity {
                client_id,
                endpoint,
                identity_header: Some(SecretString::from(header)),
            })
        }
        _ => Ok(Credential::ManagedIdentity {
            client_id,
            endpoint: Url::parse(IMDS_ENDPOINT).map_err(|e| AuthError::InvalidUrl {
                what: "the IMDS endpoint",
                reason: e.to_string(),
            })?,
            identity_header: None,
        }),
    }
}

/// The tenant: `--tenant-id`, else `AZURE_TENANT_ID`; a GUID or a domain name.
fn tenant(
    lookup: &impl Fn(&str) -> Option<String>,
    explicit: &CredentialArgs,
) -> Result<String, AuthError> {
    let tenant = explicit
        .tenant_id
        .clone()
        .or_else(|| lookup("AZURE_TENANT_ID"))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::MissingSetting {
            what: "AZURE_TENANT_ID",
            hint: "set it (or --tenant-id) to the directory (tenant) id or a verified domain such as contoso.onmicrosoft.com",
        })?;
    let valid = tenant.len() <= 256
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !valid {
        return Err(AuthError::InvalidConfig {
            reason: "AZURE_TENANT_ID must be a tenant id (GUID) or a domain name".to_owned(),
        });
    }
    Ok(tenant)
}

/// Chooses the credential ([`Credential::from_env`]) and builds the matching [`TokenSource`]:
/// a [`StaticToken`] for `DEVLIC_ACCESS_TOKEN`, a [`TokenProvider`] otherwise. `http` comes from
/// [`HttpClient::for_sign_in`].
pub fn token_source(
    lookup: impl Fn(&str) -> Option<String>,
    explicit: CredentialArgs,
    endpoints: Endpoints,
    http: HttpClient,
) -> Result<Arc<dyn TokenSource>, AuthError> {
    let tenant_id = match explicit.mode {
        Some(AuthMode::AccessToken | AuthMode::ManagedIdentity | AuthMode::AzureCli) => None,
        // Without a tenant, any work or school account may sign in (its home tenant).
        Some(AuthMode::DeviceCode) => {
            Some(tenant(&lookup, &explicit).unwrap_or_else(|_| "organizations".to_owned()))
        }
        _ => tenant(&lookup, &explicit).ok(),
    };
    let credential = Credential::from_env(&lookup, explicit)?;
    match credential {
        Credential::StaticToken(secret) => Ok(Arc::new(StaticToken::new(secret))),
        other => {
            // from_env already failed when a confidential credential had no valid tenant.
            let tenant_id = tenant_id.unwrap_or_default();
            Ok(Arc::new(TokenProvider::new(
                other, endpoints, tenant_id, http,
            )))
        }
    }
}
