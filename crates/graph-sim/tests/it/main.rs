//! Integration tests: the simulator over real HTTP on 127.0.0.1.

// A test may panic on a broken setup, in its helpers too (clippy.toml exempts only #[test]
// functions and #[cfg(test)] modules). Raw reqwest clients are allowed here: these tests
// speak to the simulator and scripted servers directly, below the client factory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod auth;
mod batch;
mod budgets;
mod cli;
mod cloud;
mod cloud_api;
mod faults;
mod licensing;
mod permissions;
mod queries;

use devlic_graph_sim::{Sim, SimConfig, Tenant};
use serde_json::Value;

pub(crate) const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";
pub(crate) const EDU: &str = "e6564056-c8cb-4977-a87c-45c90fe87ea9";
pub(crate) const KIOSKS: &str = "1a2b3c4d-0001-4a5b-8c6d-000000000001";
pub(crate) const WAREHOUSE: &str = "1a2b3c4d-0002-4a5b-8c6d-000000000002";
pub(crate) const TRAINING: &str = "1a2b3c4d-0003-4a5b-8c6d-000000000003";
pub(crate) const CALL_CENTER: &str = "1a2b3c4d-0004-4a5b-8c6d-000000000004";

pub(crate) fn fixture(name: &str) -> Tenant {
    let path = format!(
        "{}/../../examples/tenants/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture readable");
    Tenant::from_json(&text).expect("fixture valid")
}

/// A running simulator plus an authenticated client.
pub(crate) struct Env {
    pub(crate) sim: Sim,
    pub(crate) http: reqwest::Client,
    pub(crate) token: String,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) text: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("JSON body")
    }
    pub(crate) fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

impl Env {
    pub(crate) async fn start(tenant: &str, config: SimConfig) -> Env {
        let sim = Sim::start(fixture(tenant), config)
            .await
            .expect("sim starts");
        let token = sim.issue_token();
        Env {
            sim,
            http: reqwest::Client::new(),
            token,
        }
    }

    pub(crate) async fn contoso() -> Env {
        Env::start("contoso", SimConfig::default()).await
    }

    /// Contoso, signed in with the fixture app's roles plus the tenant-wide
    /// CloudLicensing.AssignLicenses.Organization that the admin write routes
    /// (`/admin/cloudLicensing/assignments/{id}`, also under an allotment) take
    /// (cloudlicensing-assignment-delete.md and cloudlicensing-assignment-update.md, admin
    /// tables). devlic never calls them, so the fixture app no longer holds it.
    pub(crate) async fn contoso_with_admin_cloud_writes() -> Env {
        let mut env = Env::contoso().await;
        env.token = env.sim.issue_token_with_roles(&[
            "Organization.Read.All",
            "Group.Read.All",
            "LicenseAssignment.ReadWrite.All",
            "CloudLicensing.Read.All",
            "Group-CloudLicensing.AssignLicenses.Organization",
            "CloudLicensing.AssignLicenses.Organization",
        ]);
        env
    }

    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.sim.url())
        };
        let mut req = self
            .http
            .request(method.parse().expect("method"), url)
            .bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        Reply {
            status,
            headers,
            text,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], None).await
    }

    pub(crate) async fn get_eventual(&self, path: &str) -> Reply {
        self.send("GET", path, &[("ConsistencyLevel", "eventual")], None)
            .await
    }
}
