//! A scripted HTTP/1.1 server on 127.0.0.1: answers canned responses in order (repeating the
//! last) and records every request, so tests can count token requests and read the exact form.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) head: String,
    pub(super) body: String,
}

#[derive(Clone)]
pub(super) struct Scripted {
    pub(super) url: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    pub(super) async fn start(responses: Vec<(u16, String)>) -> Scripted {
        Scripted::start_with_headers(
            responses
                .into_iter()
                .map(|(status, body)| (status, String::new(), body))
                .collect(),
        )
        .await
    }

    /// A server whose replies also carry `headers` (raw `name: value\r\n` lines), e.g. a
    /// redirect's `location`.
    pub(super) async fn start_with_headers(responses: Vec<(u16, String, String)>) -> Scripted {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let queue = Arc::new(Mutex::new(VecDeque::from(responses)));
        let seen2 = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (seen, queue) = (seen2.clone(), queue.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0usize);
                    while buf.len() < head_end + len {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                    seen.lock().unwrap().push(Seen { head, body });
                    let (status, headers, body) = {
                        let mut q = queue.lock().unwrap();
                        if q.len() > 1 {
                            q.pop_front()
                        } else {
                            q.front().cloned()
                        }
                    }
                    .unwrap_or((500, String::new(), String::new()));
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\n{headers}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                });
            }
        });
        Scripted { url, seen }
    }

    pub(super) fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub(super) fn endpoints(&self) -> Endpoints {
        Endpoints::custom(self.url.clone(), self.url.clone()).unwrap()
    }
}
