//! `$batch` answers whose ids are missing, duplicated, unknown, non-canonical or of the wrong
//! type: `batch_get` still returns exactly one typed result per item, in request order, an item
//! nobody answered is never reported as a success, and an answer with two responses for one item
//! (ids compared after trimming and case-folding, as numbers) is refused as a whole.

use devlic_graph::{BatchGet, GraphError, RetryPolicy};
use proptest::prelude::*;

use super::{NO_HANG, runtime};
use crate::support::{Reply, Scripted, TOKEN, client_for};

const ITEMS: usize = 5;

/// The `id` of one answer.
#[derive(Debug, Clone)]
enum Id {
    /// The canonical id of item `n` (`"3"`).
    Item(usize),
    /// An id no item has (`"7"`, `"-1"`, `"abc"`, `""`, a number past `usize`).
    Unknown(&'static str),
    /// Item `n`'s id written differently (`"03"`, `"+3"`, `" 3"`).
    Odd(usize, u8),
    /// A JSON number instead of a string (wrong type: the whole answer is malformed).
    Number(usize),
}

fn id() -> impl Strategy<Value = Id> {
    prop_oneof![
        6 => (0..ITEMS).prop_map(Id::Item),
        2 => proptest::sample::select(vec!["7", "-1", "abc", "", "18446744073709551616", "0x1"])
            .prop_map(Id::Unknown),
        1 => (0..ITEMS, 0u8..3).prop_map(|(n, k)| Id::Odd(n, k)),
        1 => (0..ITEMS).prop_map(Id::Number),
    ]
}

fn id_json(id: &Id) -> serde_json::Value {
    match id {
        Id::Item(n) => serde_json::json!(n.to_string()),
        Id::Unknown(s) => serde_json::json!(s),
        Id::Odd(n, 0) => serde_json::json!(format!("0{n}")),
        Id::Odd(n, 1) => serde_json::json!(format!("+{n}")),
        Id::Odd(n, _) => serde_json::json!(format!(" {n}")),
        Id::Number(n) => serde_json::json!(n),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_set_of_answer_ids_yields_one_typed_result_per_item(
        answers in proptest::collection::vec((id(), proptest::sample::select(vec![200u16, 404, 429, 500])), 0..12),
    ) {
        let body: Vec<serde_json::Value> = answers
            .iter()
            .map(|(id, status)| serde_json::json!({"id": id_json(id), "status": status, "body": {"status": status}}))
            .collect();
        let reply = serde_json::json!({ "responses": body }).to_string();
        let rt = runtime();
        let results = rt.block_on(async {
            let server = Scripted::start(move |_, _| Reply::Send(200, vec![], reply.clone())).await;
            let retry = RetryPolicy::none();
            let client = client_for(&server.base, TOKEN, retry);
            let items: Vec<BatchGet> = (0..ITEMS).map(|i| BatchGet::new(format!("/groups/{i}"))).collect();
            tokio::time::timeout(NO_HANG, client.batch_get(&items)).await.expect("hang")
        });
        prop_assert_eq!(results.len(), ITEMS);
        let wrong_type = answers.iter().any(|(id, _)| matches!(id, Id::Number(_)));
        // Two answers for one item, however its id was written: the whole answer is refused,
        // because keeping either could keep the wrong one.
        let duplicated = (0..ITEMS).any(|i| {
            answers
                .iter()
                .filter(|(id, _)| matches!(id, Id::Item(n) | Id::Odd(n, _) if *n == i))
                .count()
                > 1
        });
        for (i, result) in results.iter().enumerate() {
            if wrong_type || duplicated {
                prop_assert!(matches!(result, Err(GraphError::Malformed { .. })), "{result:?}");
                continue;
            }
            // Answers that could belong to item i, however its id was written.
            let mine: Vec<u16> = answers
                .iter()
                .filter(|(id, _)| matches!(id, Id::Item(n) | Id::Odd(n, _) if *n == i))
                .map(|(_, s)| *s)
                .collect();
            match result {
                // A success (or a final error status) must come from an answer for this item,
                // and carry that answer's own body.
                Ok(item) => {
                    prop_assert!(mine.contains(&item.status), "item {i}: {item:?} from {answers:?}");
                    prop_assert_eq!(&item.body["status"], &serde_json::json!(item.status));
                    prop_assert_eq!(&item.url, &format!("/groups/{i}"));
                }
                Err(e) => prop_assert!(
                    matches!(e, GraphError::RetriesExhausted { .. }),
                    "item {i}: {e:?}"
                ),
            }
            if mine.is_empty() {
                prop_assert!(result.is_err(), "item {i} had no answer: {result:?}");
            }
        }
    }
}

#[tokio::test]
async fn wrongly_typed_batch_envelopes_are_malformed_for_every_item() {
    for envelope in [
        serde_json::json!({"responses": "none"}),
        serde_json::json!({"responses": [{"id": "0", "status": "200"}]}),
        serde_json::json!({"responses": [{"id": "0", "status": 70000}]}),
        serde_json::json!({"responses": [{"id": "0", "status": 200, "headers": []}]}),
        serde_json::json!({"responses": [{"status": 200}]}),
        serde_json::json!({"value": []}),
        serde_json::json!([]),
    ] {
        let reply = envelope.to_string();
        let server = Scripted::start(move |_, _| Reply::Send(200, vec![], reply.clone())).await;
        let client = client_for(&server.base, TOKEN, crate::support::fast_retry());
        let items = [BatchGet::new("/groups/0"), BatchGet::new("/groups/1")];
        let results = tokio::time::timeout(NO_HANG, client.batch_get(&items))
            .await
            .expect("hang");
        assert_eq!(results.len(), 2);
        for r in results {
            assert!(
                matches!(r, Err(GraphError::Malformed { .. })),
                "{envelope}: {r:?}"
            );
        }
        // A malformed 200 is not retried: it is not transient.
        assert_eq!(server.seen().len(), 1, "{envelope}");
    }
}
