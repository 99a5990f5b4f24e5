//! The committed offline snapshots `examples/tenants/*.snapshot.json` (the README's first command
//! plans against one) must be what `devlic snapshot` writes for the simulator fixtures.

use serde_json::Value;

use crate::sim::{TestSim, s};
use crate::support::root;

/// The Graph root recorded in committed snapshots (the simulator's port varies per run).
const RECORDED_URL: &str = "http://127.0.0.1:8080";

#[test]
fn committed_tenant_snapshots_are_current() {
    let update = std::env::var_os("DEVLIC_UPDATE_FIXTURES").is_some();
    for name in ["contoso", "northwind"] {
        let sim = TestSim::start(name);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap.json");
        let r = sim.run(&["snapshot", "--out", s(&out)]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let mut fresh: Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(
            fresh["state"]["source"]["graphUrl"],
            Value::String(sim.sim.url())
        );
        fresh["state"]["source"]["graphUrl"] = RECORDED_URL.into();

        let path = root().join(format!("examples/tenants/{name}.snapshot.json"));
        if update {
            std::fs::write(&path, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
            continue;
        }
        let committed: Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        // When it was taken is the one field that must differ.
        fresh["state"]["takenAt"] = committed["state"]["takenAt"].clone();
        assert!(
            fresh == committed,
            "examples/tenants/{name}.snapshot.json is out of date; refresh it with \
             `DEVLIC_UPDATE_FIXTURES=1 cargo test -p devlic-cli --test it fixtures`"
        );
    }
}
