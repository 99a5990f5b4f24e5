//! Against the Graph simulator: the exact calls of `read_live` on Contoso, paging across many
//! pages, the steady-state request bound, member counts, writes and lost write responses, and
//! throttling/dropped connections injected by the simulator.

use std::collections::BTreeSet;
use std::time::Duration;

use devlic_graph::{AddLicense, GraphClient, GraphError, LiveQuery};
use devlic_graph_sim::{Faults, LoggedRequest, Sim, SimConfig, Tenant};
use devlic_model::{GroupId, MemberCounts, ProcessingState, SkuId, known_skus};

use crate::support::{client_for, fast_retry};

const DEVICE1: &str = "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7";
const EDU: &str = "e6564056-c8cb-4977-a87c-45c90fe87ea9";
const SELECT: &str = "$select=id,displayName,securityEnabled,mailEnabled,groupTypes,assignedLicenses,licenseProcessingState";

fn gid(n: u32) -> GroupId {
    GroupId::parse(&format!("1a2b3c4d-000{n}-4a5b-8c6d-00000000000{n}")).unwrap()
}

fn fixture(name: &str) -> Tenant {
    let path = format!(
        "{}/../../examples/tenants/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Tenant::from_json(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn start(tenant: Tenant) -> (Sim, GraphClient) {
    let sim = Sim::start(tenant, SimConfig::default())
        .await
        .expect("sim starts");
    let client = client_for(&sim.url(), &sim.issue_token(), fast_retry());
    (sim, client)
}

/// Top-level requests only (batch items are listed by the simulator too).
fn top_level(log: &[LoggedRequest]) -> Vec<String> {
    log.iter()
        .filter(|r| r.batch_item.is_none())
        .map(|r| format!("{} {}", r.method, r.path_and_query))
        .collect()
}

fn holders(sku: &str) -> String {
    format!("GET /v1.0/groups?$filter=assignedLicenses/any(x:x/skuId eq {sku})&{SELECT}&$top=999")
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn read_live_on_contoso_sends_exactly_the_planned_requests() {
    let (sim, client) = start(fixture("contoso.json")).await;
    let query = LiveQuery {
        device_skus: vec![],
        group_ids: vec![gid(5)],
        group_names: vec![
            "Kiosks - Front Desk".into(),
            "Shared PCs - Warehouse".into(),
            "Training Center PCs".into(),
            "retired call center".into(),
        ],
        include_all_groups: false,
    };
    let live = client.read_live(&query).await.expect("read_live");

    let log = sim.request_log();
    let top = top_level(&log);
    assert_eq!(top.len(), 6, "{top:#?}");
    // Phase 1 runs in parallel (the group count is a one-item $batch), then phase 2 in
    // parallel, then the name resolution batch.
    assert_eq!(
        sorted(top[..3].to_vec()),
        [
            "GET /v1.0/organization?$select=id,displayName,verifiedDomains",
            "GET /v1.0/subscribedSkus",
            "POST /v1.0/$batch",
        ]
    );
    assert_eq!(
        sorted(top[3..5].to_vec()),
        sorted(vec![holders(DEVICE1), holders(EDU)])
    );
    assert_eq!(top[5], "POST /v1.0/$batch");
    let items: Vec<&LoggedRequest> = log.iter().filter(|r| r.batch_item.is_some()).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].path_and_query, "/v1.0/groups/$count");
    // Contoso has 8 groups and 5 holders, so another group could share a holder's name: every
    // name is looked up, in one filter.
    assert_eq!(
        items[1].path_and_query,
        format!(
            "/v1.0/groups?$filter=displayName in ('Kiosks - Front Desk','Shared PCs - Warehouse',\
             'Training Center PCs','retired call center')&{SELECT}&$top=999"
        )
    );
    assert_eq!(client.requests_made(), 6);

    assert_eq!(live.tenant.id, "6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c");
    assert_eq!(
        live.tenant.domains,
        ["contoso.onmicrosoft.com", "contoso.com"]
    );
    assert_eq!(live.skus.len(), 3);
    let ids: BTreeSet<GroupId> = live.groups.keys().copied().collect();
    // Holders of DEVICE1 (1, 4, 5, 6), of EDUCATION (3), and the named non-holder (2). Not 7
    // (nothing) nor 8 (a user SKU).
    assert_eq!(ids, [1, 2, 3, 4, 5, 6].map(gid).into_iter().collect());
    let training = &live.groups[&gid(3)];
    assert_eq!(
        training.assigned_licenses[0].sku_id,
        known_skus::EDUCATION_DEVICE.sku_id
    );
    assert!(
        live.groups[&gid(2)]
            .group_types
            .iter()
            .any(|t| t == "DynamicMembership")
    );
    assert_eq!(live.groups_named("Retired Call Center").count(), 1);
}

#[tokio::test]
async fn snapshot_lists_every_group() {
    let (sim, client) = start(fixture("contoso.json")).await;
    let query = LiveQuery {
        include_all_groups: true,
        ..LiveQuery::default()
    };
    let live = client.read_live(&query).await.expect("read_live");
    assert_eq!(live.groups.len(), 8);
    assert_eq!(
        sorted(top_level(&sim.request_log())[2..].to_vec()),
        [format!("GET /v1.0/groups?{SELECT}&$top=999")]
    );
}

#[tokio::test]
async fn member_counts_and_license_errors_in_few_batches() {
    let (sim, client) = start(fixture("contoso.json")).await;
    let groups = [1, 2, 3, 7, 8].map(gid);
    let counts = client.read_member_counts(&groups).await.expect("counts");
    assert_eq!(
        counts[&gid(1)],
        MemberCounts {
            devices: 12,
            non_devices: 0,
            groups: 0
        }
    );
    assert_eq!(counts[&gid(2)].devices, 40);
    assert_eq!(
        counts[&gid(7)],
        MemberCounts {
            devices: 0,
            non_devices: 9,
            groups: 0
        }
    );
    assert_eq!(counts[&gid(8)].non_devices, 120);
    // One item per group (each has under 1,000 members): 5 items, one $batch, no $count.
    assert_eq!(client.requests_made(), 1);
    let log = sim.request_log();
    let items: Vec<&str> = log
        .iter()
        .filter(|r| r.batch_item.is_some())
        .map(|r| r.path_and_query.as_str())
        .collect();
    assert_eq!(items.len(), 5, "{items:#?}");
    assert!(
        items.contains(
            &format!(
                "/v1.0/groups/{}/transitiveMembers?$select=id&$top=999",
                gid(1)
            )
            .as_str()
        )
    );

    let errors = client.read_license_errors(&groups).await.expect("errors");
    assert_eq!(errors.len(), 5);
    assert!(errors.values().all(Vec::is_empty));
    assert_eq!(client.requests_made(), 2);
}

fn all_holding(groups: usize, sku: &str) -> Tenant {
    let mut tenant = devlic_graph_sim::generate(groups, 0, 11);
    for g in &mut tenant.groups {
        g.assigned_licenses = vec![devlic_graph_sim::AssignedLicense {
            sku_id: sku.to_owned(),
            disabled_plans: Vec::new(),
            allotment_id: None,
        }];
    }
    tenant
}

#[tokio::test]
async fn paging_follows_next_links_to_the_end() {
    let tenant = all_holding(2500, DEVICE1);
    let names: Vec<String> = tenant
        .groups
        .iter()
        .map(|g| g.display_name.clone())
        .collect();
    let (sim, client) = start(tenant).await;
    let live = client
        .read_live(&LiveQuery {
            group_names: names,
            ..LiveQuery::default()
        })
        .await
        .expect("read_live");
    assert_eq!(live.groups.len(), 2500);
    let top = top_level(&sim.request_log());
    let pages: Vec<&String> = top
        .iter()
        .filter(|r| r.contains("assignedLicenses/any(x:x/skuId eq ea4c"))
        .collect();
    assert_eq!(pages.len(), 3, "{top:#?}");
    assert!(pages[1].contains("$skiptoken=") && pages[2].contains("$skiptoken="));
    // org + skus + the group count + 3 pages of DEVICE1 holders + 1 (empty) page of EDUCATION
    // holders; every group is a holder, so no name needs looking up.
    assert_eq!(client.requests_made(), 7);
}

#[tokio::test]
async fn steady_state_with_ten_thousand_groups_stays_within_the_request_bound() {
    let tenant = all_holding(10_000, DEVICE1);
    let names: Vec<String> = tenant
        .groups
        .iter()
        .map(|g| g.display_name.clone())
        .collect();
    let sim = Sim::start(tenant, SimConfig::default())
        .await
        .expect("sim starts");
    // Counted work, not time: on a loaded machine a page of 10,000 groups can take longer than
    // the 5 s request timeout of the other tests, and the retry that follows would be counted as
    // a request the client did not need. This client waits for each answer.
    let mut config = devlic_graph::ClientConfig::new(
        sim.url().parse().expect("sim URL"),
        std::sync::Arc::new(devlic_graph::auth::StaticToken::new(
            secrecy::SecretString::from(sim.issue_token()),
        )),
    );
    config.retry = fast_retry();
    config.timeouts.request = Duration::from_secs(600);
    let client = GraphClient::new(config).expect("client");
    let live = client
        .read_live(&LiveQuery {
            group_names: names,
            ..LiveQuery::default()
        })
        .await
        .expect("read_live");
    assert_eq!(live.groups.len(), 10_000);
    // organization + subscribedSkus + the group count (`/groups/$count`, which shows that no
    // group beyond the holders can share a spec name) + ⌈10,000/999⌉ pages of DEVICE1 holders +
    // 1 page of EDUCATION holders = 15, and nothing resent. The count is the one request added
    // by reading a live plan's ambiguous names as a snapshot does; without it, checking 10,000
    // names would take ⌈⌈10,000/15⌉/20⌉ = 34 more.
    let bound = 3 + 10_000u64.div_ceil(999) + 1;
    assert_eq!(client.stats().retries, 0, "{:?}", client.stats());
    assert_eq!(client.requests_made(), bound);
    assert_eq!(top_level(&sim.request_log()).len() as u64, bound);
    // Each page is one round trip after the previous one; the two SKUs' listings and the first
    // reads overlap.
    assert!(sim.stats().round_trips <= bound, "{:?}", sim.stats());
}

#[tokio::test]
async fn write_then_verify_processing_state() {
    let (_sim, client) = start(fixture("contoso.json")).await;
    let device1 = SkuId::parse(DEVICE1).unwrap();
    let edu = SkuId::parse(EDU).unwrap();
    // The swap of "Training Center PCs": one call that adds DEVICE1 and removes EDUCATION.
    let receipt = client
        .assign_license(
            gid(3),
            &[AddLicense {
                sku_id: device1,
                disabled_plans: vec![],
            }],
            &[edu],
        )
        .await
        .expect("write accepted");
    assert!(!receipt.request_id.is_empty());
    let state = client
        .read_group_license_state(gid(3))
        .await
        .expect("re-read");
    assert_eq!(state.assigned_licenses.len(), 1);
    assert_eq!(state.assigned_licenses[0].sku_id, device1);
    assert!(state.processing_state.is_some());
    // It settles to ProcessingComplete.
    let mut done = false;
    for _ in 0..50 {
        let s = client.read_group_license_state(gid(3)).await.expect("poll");
        if s.processing_state == Some(ProcessingState::ProcessingComplete) {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "processing never completed");
    let many = client
        .read_groups_license_state(&[
            gid(3),
            gid(1),
            GroupId::parse("00000000-0000-4000-8000-000000000000").unwrap(),
        ])
        .await
        .expect("batch read");
    assert_eq!(many.len(), 2, "a missing group is absent, not an error");
    // A SKU the tenant does not have: Graph's 400, typed.
    let bogus = SkuId::parse("00000000-0000-4000-8000-000000000001").unwrap();
    let err = client
        .assign_license(
            gid(2),
            &[AddLicense {
                sku_id: bogus,
                disabled_plans: vec![],
            }],
            &[],
        )
        .await
        .expect_err("unknown SKU");
    assert!(
        matches!(err, GraphError::Service { status: 400, .. }),
        "{err:?}"
    );
    assert!(err.request_id().is_some());
}

#[tokio::test]
async fn lost_write_response_is_settled_by_a_reread_and_reported() {
    let (sim, client) = start(fixture("contoso.json")).await;
    sim.set_faults(Faults {
        lost_write_rate: 1.0,
        ..Faults::default()
    });
    let device1 = SkuId::parse(DEVICE1).unwrap();
    let receipt = client
        .assign_license(
            gid(2),
            &[AddLicense {
                sku_id: device1,
                disabled_plans: vec![],
            }],
            &[],
        )
        .await
        .expect("a re-read proves the write landed");
    assert_eq!(receipt.attempts, 1);
    let note = receipt.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("was lost") && note.contains("showed it had landed"),
        "the receipt says what is known: {receipt:?}"
    );
    let posts = sim
        .request_log()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1, "never resent");
    sim.set_faults(Faults::default());
    let state = client
        .read_group_license_state(gid(2))
        .await
        .expect("re-read");
    assert!(
        state.assigned_licenses.iter().any(|l| l.sku_id == device1),
        "the write had landed"
    );
}

#[tokio::test]
async fn reads_survive_injected_throttling_drops_and_date_retry_after() {
    let tenant = all_holding(1200, EDU);
    let (sim, client) = start(tenant).await;
    sim.set_faults(Faults {
        throttle_rate: 0.3,
        retry_after_secs: 0.05,
        unavailable_rate: 0.1,
        drop_rate: 0.1,
        ..Faults::default()
    });
    let live = client
        .read_live(&LiveQuery {
            include_all_groups: true,
            ..LiveQuery::default()
        })
        .await
        .expect("read under faults");
    assert_eq!(live.groups.len(), 1200);
    let counts = client
        .read_member_counts(&live.groups.keys().take(30).copied().collect::<Vec<_>>())
        .await
        .expect("counts under faults");
    assert_eq!(counts.len(), 30);
    let stats = client.stats();
    assert!(stats.retries > 0, "{stats:?}");
    let faults: Vec<_> = sim
        .request_log()
        .into_iter()
        .filter_map(|r| r.fault)
        .collect();
    assert!(!faults.is_empty());

    sim.set_faults(Faults {
        throttle_rate: 1.0,
        retry_after_secs: 1.0,
        retry_after_as_date: true,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    let err = client
        .read_group_license_state(*live.groups.keys().next().unwrap())
        .await
        .expect_err("always throttled");
    assert!(
        matches!(err, GraphError::RetriesExhausted { .. }),
        "{err:?}"
    );
    // Four waits of up to a second each (date precision is one second), not instant retries.
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn requests_in_flight_are_bounded() {
    let tenant = all_holding(100, DEVICE1);
    let ids: Vec<GroupId> = tenant
        .groups
        .iter()
        .map(|g| GroupId::parse(&g.id).unwrap())
        .collect();
    let (sim, client) = start(tenant).await;
    sim.set_faults(Faults {
        latency: Some(Duration::from_millis(100)),
        ..Faults::default()
    });
    // 100 groups, one item each = 5 batches; at most 4 in flight (the default), so at least
    // ⌈5/4⌉ = 2 dependent round trips, counted by the simulator (not timed).
    let counts = client.read_member_counts(&ids).await.expect("counts");
    assert_eq!(counts.len(), 100);
    assert_eq!(client.requests_made(), 5);
    assert!(
        sim.stats().round_trips >= 2,
        "5 requests in {} round trips: more than 4 were in flight",
        sim.stats().round_trips
    );
}

/// Issue 14's fault row: 30 % of write responses lost and 300 ms of read-after-write lag over
/// 80 groups. The write loop settles each lost response by re-reading past the lag, so no group
/// is written twice; with a settle window shorter than the lag it resends (assignLicense is
/// idempotent), and the receipts count exactly the groups the request log shows written twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_responses_under_read_after_write_lag_are_not_written_twice() {
    const GROUPS: usize = 80;
    for (settle, expect_resends) in [
        (Duration::from_secs(2), false),
        (Duration::from_millis(50), true),
    ] {
        let sim = Sim::start(all_holding(GROUPS, EDU), SimConfig::default())
            .await
            .expect("sim starts");
        sim.set_faults(Faults {
            lost_write_rate: 0.3,
            read_after_write_lag: Some(Duration::from_millis(300)),
            ..Faults::default()
        });
        let mut config = devlic_graph::ClientConfig::new(
            url::Url::parse(&sim.url()).unwrap(),
            std::sync::Arc::new(devlic_graph::auth::StaticToken::new(
                secrecy::SecretString::from(sim.issue_token()),
            )),
        );
        config.retry = fast_retry();
        config.write_settle = settle;
        let client = GraphClient::new(config).unwrap();
        let tenant_groups: Vec<GroupId> = client
            .read_live(&LiveQuery::default())
            .await
            .expect("read")
            .groups
            .keys()
            .copied()
            .collect();
        assert_eq!(tenant_groups.len(), GROUPS);
        let add = [AddLicense {
            sku_id: SkuId::parse(DEVICE1).unwrap(),
            disabled_plans: vec![],
        }];
        let remove = [SkuId::parse(EDU).unwrap()];
        let receipts = futures::future::join_all(
            tenant_groups
                .iter()
                .map(|g| client.assign_license(*g, &add, &remove)),
        )
        .await;
        let log = sim.request_log();
        let posts_to = |g: &GroupId| {
            log.iter()
                .filter(|r| {
                    r.method == "POST"
                        && r.path_and_query
                            .contains(&format!("/groups/{g}/assignLicense"))
                })
                .count()
        };
        let lost = log
            .iter()
            .filter(|r| r.fault.as_deref() == Some("lost_write"))
            .count();
        assert!(lost >= 10, "the fault was injected: {lost} lost responses");
        let written_twice: Vec<&GroupId> =
            tenant_groups.iter().filter(|g| posts_to(g) > 1).collect();
        let mut resent_by_receipt = 0;
        for (g, result) in tenant_groups.iter().zip(&receipts) {
            let receipt = match result {
                Ok(receipt) => receipt,
                // Resent, and that answer was lost too: reported as unknown, never sent a third
                // time (possible only when the window is shorter than the lag).
                Err(GraphError::OutcomeUnknown { detail, .. })
                    if expect_resends && detail.contains("lost too") =>
                {
                    resent_by_receipt += 1;
                    continue;
                }
                Err(e) => panic!("{g}: {e}"),
            };
            let note = receipt.note.as_deref().unwrap_or_default();
            if note.contains("sent again") {
                resent_by_receipt += 1;
                assert_eq!(receipt.attempts, 2, "{g}: {note}");
            } else {
                assert_eq!(receipt.attempts, 1, "{g}: {note}");
            }
        }
        // Truthful: the receipts name exactly the groups the simulator saw written twice.
        assert_eq!(written_twice.len(), resent_by_receipt, "settle {settle:?}");
        if expect_resends {
            assert!(
                resent_by_receipt > 0,
                "a 50 ms window cannot outlast 300 ms of lag"
            );
        } else {
            assert_eq!(
                written_twice,
                Vec::<&GroupId>::new(),
                "double writes with settle {settle:?}"
            );
        }
        // Every group ends swapped, whether its write was sent once or twice.
        sim.set_faults(Faults::default());
        tokio::time::sleep(Duration::from_millis(350)).await;
        let states = client
            .read_groups_license_state(&tenant_groups)
            .await
            .unwrap();
        for g in &tenant_groups {
            let held: Vec<SkuId> = states[g]
                .assigned_licenses
                .iter()
                .map(|l| l.sku_id)
                .collect();
            assert_eq!(held, vec![SkuId::parse(DEVICE1).unwrap()], "{g}");
        }
    }
}

/// What a live read of names returned, with the requests it took.
struct NameRead {
    live: devlic_model::LiveState,
    /// The display name two groups share.
    shared_name: String,
    requests: u64,
    /// The simulator's top-level requests (`$batch` items left out).
    top: Vec<String>,
}

/// `holders` groups holding DEVICE1 and an unlicensed, memberless twin of holder `twin_of`
/// (same display name, id `twin_id`), read live by every holder's name.
async fn read_names_with_a_twin(holders: usize, twin_of: usize, twin_id: &str) -> NameRead {
    let mut tenant = all_holding(holders, DEVICE1);
    let mut twin = tenant.groups[twin_of].clone();
    twin.id = twin_id.to_owned();
    twin.assigned_licenses.clear();
    twin.members.clear();
    tenant.groups.push(twin.clone());
    let names: Vec<String> = tenant.groups[..holders]
        .iter()
        .map(|g| g.display_name.clone())
        .collect();
    let (sim, client) = start(tenant).await;
    let live = client
        .read_live(&LiveQuery {
            group_names: names,
            ..LiveQuery::default()
        })
        .await
        .expect("read_live");
    NameRead {
        live,
        shared_name: twin.display_name,
        requests: client.requests_made(),
        top: top_level(&sim.request_log()),
    }
}

/// A holder's display name that a group without licenses shares: a live read returns both, so
/// a live plan reports the name as ambiguous exactly as a snapshot plan does.
#[tokio::test]
async fn a_name_a_holder_shares_with_another_group_is_read_as_in_a_snapshot() {
    let read = read_names_with_a_twin(30, 0, "0badc0de-0000-4000-8000-000000000001").await;
    assert_eq!(read.live.groups.len(), 31);
    assert_eq!(read.live.groups_named(&read.shared_name).count(), 2);
    // org + skus + the count (31 groups > 30 holders) + 1 page of DEVICE1 holders + 1 of
    // EDUCATION + one $batch with the 30 names in two `in` filters.
    assert_eq!(read.requests, 6, "{:#?}", read.top);
}

/// With many names and few other groups, listing every group is cheaper than the filters.
#[tokio::test]
async fn many_names_in_a_small_tenant_list_every_group_instead() {
    let read = read_names_with_a_twin(400, 7, "0badc0de-0000-4000-8000-000000000002").await;
    assert_eq!(read.live.groups_named(&read.shared_name).count(), 2);
    // 400 names would take 27 filters (2 $batch requests); the 401 groups fit one page.
    assert_eq!(read.requests, 6, "{:#?}", read.top);
    assert!(
        read.top
            .iter()
            .any(|r| r == &format!("GET /v1.0/groups?{SELECT}&$top=999"))
    );
}

/// A name no group has brings the groups that start like it, for "did you mean".
#[tokio::test]
async fn a_missing_name_brings_the_groups_that_start_like_it() {
    let mut tenant = all_holding(5, DEVICE1);
    let mut near = tenant.groups[0].clone();
    near.id = "0badc0de-0000-4000-8000-000000000003".to_owned();
    near.display_name = "Reception Laptops".to_owned();
    near.assigned_licenses.clear();
    tenant.groups.push(near);
    let (sim, client) = start(tenant).await;
    let live = client
        .read_live(&LiveQuery {
            group_names: vec!["reception-laptop".to_owned()],
            ..LiveQuery::default()
        })
        .await
        .expect("read_live");
    assert_eq!(live.groups_named("Reception Laptops").count(), 1);
    let log = sim.request_log();
    let items: Vec<&str> = log
        .iter()
        .filter(|r| r.batch_item.is_some())
        .map(|r| r.path_and_query.as_str())
        .collect();
    assert!(
        items.contains(
            &format!("/v1.0/groups?$filter=startswith(displayName,'rec')&{SELECT}&$top=999")
                .as_str()
        ),
        "{items:#?}"
    );
    // org + skus + count + 2 holder pages + the name lookup + the prefix lookup.
    assert_eq!(client.requests_made(), 7);
}
