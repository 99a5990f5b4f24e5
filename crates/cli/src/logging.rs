//! Logging: tracing to stderr (stdout carries only the product), as text or JSON lines, and the
//! request log: one line per Graph request, from the graph client's
//! [`devlic_graph::REQUEST_LOG_TARGET`] events.

use std::fmt;
use std::io::{IsTerminal, Write};

use devlic_graph::REQUEST_LOG_TARGET;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::LogFormat;

/// Installs the subscriber. `-v` shows progress (info) and the request log, `-vv` also the
/// library's debug events; `DEVLIC_LOG` (an `EnvFilter` directive such as `devlic_graph=trace`)
/// overrides the former, never the request log.
pub fn init(verbose: u8, format: LogFormat, color: bool) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let mut filter =
        EnvFilter::try_from_env("DEVLIC_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // The request log has its own layer and format; keep its events out of the generic one.
    if let Ok(off) = format!("{REQUEST_LOG_TARGET}=off").parse() {
        filter = filter.add_directive(off);
    }
    let events = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(verbose > 1);
    let events = match format {
        LogFormat::Text => events
            .with_ansi(color && std::io::stderr().is_terminal())
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => events.json().with_ansi(false).with_filter(filter).boxed(),
    };
    let requests = RequestLog {
        json: format == LogFormat::Json,
    }
    .with_filter(filter_fn(move |meta| {
        verbose >= 1 && meta.target() == REQUEST_LOG_TARGET
    }));
    // A second subscriber cannot be installed; `try_init` only fails then, which cannot happen
    // in a binary that calls this once.
    let _ = tracing_subscriber::registry()
        .with(events)
        .with(requests)
        .try_init();
}

/// Prints each request-log event as one line on stderr.
struct RequestLog {
    json: bool,
}

/// The fields of one request-log event (see [`devlic_graph::REQUEST_LOG_TARGET`]).
#[derive(Default)]
struct RequestLine {
    method: String,
    path: String,
    status: Option<u64>,
    request_id: Option<String>,
    error: Option<String>,
    duration_ms: u64,
    retries: u64,
}

impl Visit for RequestLine {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "method" => value.clone_into(&mut self.method),
            "path" => value.clone_into(&mut self.path),
            "request_id" => self.request_id = Some(value.to_owned()),
            "error" => self.error = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "status" => self.status = Some(value),
            "duration_ms" => self.duration_ms = value,
            "retries" => self.retries = value,
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_u64(field, u64::try_from(value).unwrap_or_default());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `path = %path` arrives here (Display through Debug formatting).
        if field.name() == "path" {
            self.path = format!("{value:?}");
        }
    }
}

impl RequestLine {
    /// `graph: GET /v1.0/subscribedSkus 200 12 ms request-id=… retries=0`.
    fn text(&self) -> String {
        let outcome = match (self.status, &self.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => format!("failed ({error})"),
            (None, None) => "failed".to_owned(),
        };
        let mut line = format!(
            "graph: {} {} {outcome} {} ms",
            self.method, self.path, self.duration_ms
        );
        if self.status.is_some() {
            line.push_str(&format!(
                " request-id={}",
                self.request_id.as_deref().unwrap_or("-")
            ));
        }
        line.push_str(&format!(" retries={}", self.retries));
        devlic_model::display::sanitize(&line).into_owned()
    }

    fn json(&self) -> String {
        let value = serde_json::json!({
            "timestamp": jiff::Timestamp::now().to_string(),
            "target": REQUEST_LOG_TARGET,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "requestId": self.request_id,
            "error": self.error,
            "durationMs": self.duration_ms,
            "retries": self.retries,
        });
        value.to_string()
    }
}

impl<S: Subscriber> Layer<S> for RequestLog {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut line = RequestLine::default();
        event.record(&mut line);
        let text = if self.json { line.json() } else { line.text() };
        // stderr is unbuffered; a failed write (closed stderr) has nowhere to be reported.
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
}
