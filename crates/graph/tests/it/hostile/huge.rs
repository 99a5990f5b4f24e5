//! Answers larger than the client's body limit ([`MAX_BODY_BYTES`]), with and without a
//! `Content-Length`, for each endpoint `read_live` touches: the client stops reading at the
//! limit and returns a typed error instead of buffering without bound.

use devlic_graph::{GraphError, LiveQuery, MAX_BODY_BYTES, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::NO_HANG;
use crate::support::{TOKEN, client_for};

#[derive(Debug, Clone, Copy)]
enum Framing {
    /// `Content-Length` announces more than the limit.
    Declared,
    /// Chunked: nothing says how much is coming.
    Chunked,
}

/// Serves correct answers, except an endless or oversized body for paths containing `huge_for`.
async fn server(huge_for: &'static str, framing: Framing) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, huge_for, framing));
        }
    });
    base
}

async fn serve(mut stream: TcpStream, huge_for: &'static str, framing: Framing) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
        let len: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < end + 4 + len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
        buf.drain(..end + 4 + len);
        if target.contains(huge_for) {
            send_huge(&mut stream, framing).await;
            return;
        }
        let answer = if target.contains("/organization") {
            serde_json::json!({"value": [{"id": "t"}]})
        } else if target.contains("/subscribedSkus") {
            serde_json::json!({"value": [{"skuId": "ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7",
                "skuPartNumber": "OFFICE_PROPLUS_DEVICE1", "capabilityStatus": "Enabled",
                "consumedUnits": 1, "prepaidUnits": {"enabled": 2}}]})
        } else if target.ends_with("/$batch") {
            let req: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let responses: Vec<_> = req["requests"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| serde_json::json!({"id": r["id"], "status": 200, "body": {"value": []}}))
                .collect();
            serde_json::json!({ "responses": responses })
        } else {
            serde_json::json!({"value": []})
        }
        .to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(answer.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

/// Writes a JSON-looking body past the limit, until the client hangs up.
async fn send_huge(stream: &mut TcpStream, framing: Framing) {
    let head = match framing {
        Framing::Declared => format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1024
        ),
        Framing::Chunked => {
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                .to_owned()
        }
    };
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let block = vec![b' '; 1024 * 1024];
    let mut sent = 0usize;
    // Twice the limit at most: a client that kept reading would be caught by the assertion on
    // the error, not by an endless test.
    while sent < 2 * MAX_BODY_BYTES {
        let ok = match framing {
            Framing::Declared => stream.write_all(&block).await.is_ok(),
            Framing::Chunked => {
                let size = format!("{:x}\r\n", block.len());
                stream.write_all(size.as_bytes()).await.is_ok()
                    && stream.write_all(&block).await.is_ok()
                    && stream.write_all(b"\r\n").await.is_ok()
            }
        };
        if !ok {
            return;
        }
        sent += block.len();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_answers_are_refused_at_the_limit() {
    let query = LiveQuery {
        group_names: vec!["Lab - Art Room".to_owned()],
        ..LiveQuery::default()
    };
    for huge_for in [
        "/organization",
        "/subscribedSkus",
        "assignedLicenses",
        "/$batch",
    ] {
        for framing in [Framing::Declared, Framing::Chunked] {
            let base = server(huge_for, framing).await;
            let retry = RetryPolicy::none();
            let client = client_for(&base, TOKEN, retry);
            let err = tokio::time::timeout(NO_HANG, client.read_live(&query))
                .await
                .expect("hang")
                .expect_err("a body past the limit was accepted");
            // Not transient: one attempt, then a typed Malformed (never a retry that would
            // download it again).
            assert!(
                matches!(&err, GraphError::Malformed { detail, .. }
                    if detail.contains(&format!("larger than {MAX_BODY_BYTES} bytes"))),
                "{huge_for} {framing:?}: {err:?}"
            );
        }
    }
}
