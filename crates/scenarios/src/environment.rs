//! The variables of the machine running the tests that a `devlic` child must not inherit: any of
//! them could choose a sign-in mode or carry a credential (devlic reads `AZURE_*`, `DEVLIC_*`,
//! GitHub's `ACTIONS_ID_TOKEN_*`, and takes `IDENTITY_*`, `IMDS_*` or `MSI_*` as the sign that a
//! managed identity answers). Every harness that starts devlic, here and in devlic-cli's tests,
//! removes them, so a developer's or CI runner's own credentials never reach a test run.

use std::ffi::OsString;

/// Prefixes of the variables that can choose or carry a credential.
const CREDENTIAL_PREFIXES: [&str; 6] = [
    "AZURE_",
    "DEVLIC_",
    "ACTIONS_ID_TOKEN",
    "IDENTITY_",
    "IMDS_",
    "MSI_",
];

/// Whether a variable of this name can choose or carry a devlic credential.
pub fn is_credential_variable(name: &str) -> bool {
    CREDENTIAL_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The names of this process's variables a `devlic` child must not inherit (pass each to
/// `env_remove`).
pub fn inherited_credential_variables() -> Vec<OsString> {
    std::env::vars_os()
        .map(|(key, _)| key)
        .filter(|key| is_credential_variable(&key.to_string_lossy()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_source_is_scrubbed_and_nothing_else() {
        for name in [
            "AZURE_CLIENT_SECRET",
            "DEVLIC_ACCESS_TOKEN",
            "DEVLIC_AUTH",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "IDENTITY_ENDPOINT",
            "IMDS_ENDPOINT",
            "MSI_ENDPOINT",
        ] {
            assert!(is_credential_variable(name), "{name}");
        }
        for name in ["PATH", "HOME", "NO_COLOR", "CLICOLOR_FORCE", "XAZURE_X"] {
            assert!(!is_credential_variable(name), "{name}");
        }
    }
}
