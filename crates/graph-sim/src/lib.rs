//! devlic-graph-sim: a Microsoft Graph simulator on 127.0.0.1.
//!
//! An in-memory Entra ID tenant (loaded from a tenant JSON file) served over HTTP the way Graph
//! v1.0 serves it: `organization`, `subscribedSkus`, `groups` with `$select`/`$top`/`$filter`/
//! `$count`/`$skiptoken` paging, members and transitive members with `$count`,
//! `membersWithLicenseErrors`, `assignLicense` with asynchronous processing and CountViolation,
//! and `$batch`. Under `/beta` it also serves `cloudLicensing` (allotments, their assignments and
//! `waitingMembers`, assignments: list, get, create, update and delete on the group, admin and
//! allotment routes, with `$expand=allotment($filter=skuId in (...))`; device `usageRights`) on
//! the same licensing model, so an
//! assignment made through one API shows in the other; allotments come from the tenant file's
//! `allotments` or default to one per SKU ([`Tenant::effective_allotments`]). Also an Entra-style token endpoint (client secret, certificate and federated
//! assertions), a GitHub-Actions-style OIDC issuer and an IMDS-style managed-identity endpoint,
//! so every auth flow can be exercised on loopback, and a `/_sim` control API.
//!
//! Faults (latency, 429, 503/504, dropped connections, lost write responses, read-after-write
//! lag) come from one ChaCha8 RNG seeded by [`SimConfig::seed`], drawn in request-arrival order:
//! the same sequence of requests under the same seed and faults meets the same faults, bit for
//! bit. (Concurrent clients make arrival order itself nondeterministic.)
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use devlic_graph_sim::{Sim, SimConfig, Tenant};
//! let tenant = Tenant::from_json(&std::fs::read_to_string("examples/tenants/contoso.json")?)
//!     .map_err(std::io::Error::other)?;
//! let sim = Sim::start(tenant, SimConfig::default()).await?;
//! let token = sim.issue_token();
//! println!("{} {token}", sim.url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod applications;
mod budget;
mod clock;
mod config;
mod filter;
mod generate;
mod http;
mod license;
mod permissions;
mod routes;
mod server;
mod tenant;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use applications::Application;
pub use budget::{Budget, Budgets};
pub use config::{FaultCounts, Faults, LoggedRequest, SimConfig, Stats};
pub use generate::generate;
pub use routes::auth::{EXCHANGE_AUDIENCE, GITHUB_ISSUER};
pub use tenant::{
    Allotment, AllotmentSubscription, AssignedLicense, Device, FederatedCredential, Group,
    LicenseProcessingState, PrepaidUnits, ServicePlan, SubscribedSku, Tenant, TenantError, User,
    VerifiedDomain,
};

use server::{Running, Shared};

/// A running simulator. Dropping it stops the server too; [`Sim::shutdown`] waits for it.
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    running: Running,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately no config: it holds the client secret.
        f.debug_struct("Sim").field("addr", &self.addr).finish()
    }
}

impl Sim {
    /// Starts a simulator on `127.0.0.1:0` (a free port).
    pub async fn start(tenant: Tenant, config: SimConfig) -> std::io::Result<Sim> {
        Sim::start_on(tenant, config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a simulator on a given loopback address; refuses any other address, since the
    /// simulator has no real authentication.
    pub async fn start_on(
        tenant: Tenant,
        config: SimConfig,
        addr: SocketAddr,
    ) -> std::io::Result<Sim> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("devlic-sim listens on loopback only, not {addr}"),
            ));
        }
        tenant
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        let (shared, addr, running) =
            server::serve(|base| Shared::new(tenant, config, base).map(Arc::new), addr).await?;
        Ok(Sim {
            shared,
            addr,
            running,
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash. Graph lives under `/v1.0` and `/beta`, the
    /// token endpoint at `/{tenant}/oauth2/v2.0/token`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A valid bearer token, for tests that skip the OAuth flow.
    pub fn issue_token(&self) -> String {
        routes::auth::issue(&self.shared, self.shared.config.token_lifetime)
    }

    /// A bearer token with a custom lifetime (e.g. to test expiry).
    pub fn issue_token_with_lifetime(&self, lifetime: Duration) -> String {
        routes::auth::issue(&self.shared, lifetime)
    }

    /// An app-only token of the tenant file's application with this display name (compared
    /// case-insensitively), carrying its `roles`; `None` if the file lists no such application.
    pub fn issue_token_for(&self, display_name: &str) -> Option<String> {
        let app = self.application(display_name)?;
        Some(routes::auth::issue_as(
            &self.shared,
            &app,
            false,
            self.shared.config.token_lifetime,
        ))
    }

    /// A delegated token (a user signed in to that application) carrying its
    /// `delegatedScopes` as `scp`; `None` if the file lists no such application.
    pub fn issue_delegated_token_for(&self, display_name: &str) -> Option<String> {
        let app = self.application(display_name)?;
        Some(routes::auth::issue_as(
            &self.shared,
            &app,
            true,
            self.shared.config.token_lifetime,
        ))
    }

    /// An app-only token of the configured app with exactly these `roles`, whatever the tenant
    /// file grants (e.g. to show what one permission fewer does).
    pub fn issue_token_with_roles(&self, roles: &[&str]) -> String {
        let app = Application {
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            ..routes::auth::configured_app(&self.shared)
        };
        routes::auth::issue_as(&self.shared, &app, false, self.shared.config.token_lifetime)
    }

    /// A delegated token of the configured app with exactly these scopes (`scp`).
    pub fn issue_delegated_token_with_scopes(&self, scopes: &[&str]) -> String {
        let app = Application {
            delegated_scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ..routes::auth::configured_app(&self.shared)
        };
        routes::auth::issue_as(&self.shared, &app, true, self.shared.config.token_lifetime)
    }

    fn application(&self, display_name: &str) -> Option<Application> {
        self.shared
            .lock()
            .tenant
            .applications
            .iter()
            .find(|a| a.display_name.eq_ignore_ascii_case(display_name))
            .cloned()
    }

    /// The user enters `user_code` at the verification page and approves the device-code
    /// sign-in (what a person does in a browser); `false` when no live code matches.
    pub fn approve_device_code(&self, user_code: &str) -> bool {
        routes::device_code::approve(&self.shared, user_code, false)
    }

    /// The user refuses the device-code sign-in; `false` when no live code matches.
    pub fn decline_device_code(&self, user_code: &str) -> bool {
        routes::device_code::approve(&self.shared, user_code, true)
    }

    /// Refuses every refresh token issued so far, as revoking a person's sessions does; the
    /// next `refresh_token` grant is answered `invalid_grant`.
    pub fn revoke_refresh_tokens(&self) {
        routes::device_code::revoke_refresh_tokens(&self.shared);
    }

    /// The refresh tokens issued so far (device-code sign-ins with `offline_access`), so tests
    /// can check that none shows up in an output.
    pub fn issued_refresh_tokens(&self) -> Vec<String> {
        routes::device_code::refresh_tokens(&self.shared)
    }

    /// Stops simulator time: from now on it moves only through [`Sim::advance_clock`] (license
    /// processing, read-after-write lag and token expiry all follow it).
    pub fn freeze_clock(&self) {
        self.shared.lock().clock.freeze();
    }

    /// Moves simulator time forward by `by` (frozen or not), then settles license processing.
    pub fn advance_clock(&self, by: Duration) {
        let mut inner = self.shared.lock();
        inner.clock.advance(by);
        inner.settle(self.shared.config.processing_delay);
    }

    /// Replaces the fault knobs (the RNG sequence continues).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
    }

    /// Counters since start or the last reset.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Resets the counters and the request log.
    pub fn reset_stats(&self) {
        let mut inner = self.shared.lock();
        inner.stats = Stats::default();
        inner.clear_log();
        inner.reset_round_trips();
    }

    /// Requests in arrival order; `$batch` items follow their batch, marked by `batch_item`.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log()
    }

    /// Empties the request log.
    pub fn clear_request_log(&self) {
        self.shared.lock().clear_log();
    }

    /// Adds `units` enabled units to the subscription with part number `part_number` (and its
    /// first allotment), as buying licenses in the admin center does; devices waiting for a unit
    /// get one. Returns false when the tenant has no such subscription.
    pub fn add_units(&self, part_number: &str, units: i64) -> bool {
        let mut inner = self.shared.lock();
        inner.settle(self.shared.config.processing_delay);
        let Some(sku) = inner
            .tenant
            .subscribed_skus
            .iter_mut()
            .find(|s| s.sku_part_number.eq_ignore_ascii_case(part_number))
        else {
            return false;
        };
        sku.prepaid_units.enabled += units;
        let sku_id = sku.sku_id.clone();
        inner.lic.add_units(&sku_id, units)
    }

    /// The tenant now (after writes and processing).
    pub fn tenant_state(&self) -> Tenant {
        self.shared.tenant_state()
    }

    /// Device id -> SKU ids the device holds a unit of, now.
    pub fn device_licenses(&self) -> BTreeMap<String, Vec<String>> {
        let mut inner = self.shared.lock();
        inner.settle(self.shared.config.processing_delay);
        inner
            .lic
            .holdings()
            .into_iter()
            .map(|(d, s)| (d, s.into_iter().collect()))
            .collect()
    }

    /// Stops the server and waits (briefly) for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.running.shutdown.take() {
            let _ = tx.send(());
        }
        let task = &mut self.running.task;
        if tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .is_err()
        {
            self.running.task.abort();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.running.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
