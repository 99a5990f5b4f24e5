//! The one write loop: send, wait out throttling, re-read, resend only if not landed, and say
//! what is known when a response is lost.
//!
//! Every write devlic makes goes through [`GraphClient::send_write`] with a [`WriteRule`] that
//! says how to tell whether it landed and whether resending it is harmless:
//!
//! | Write | Idempotent? | After a 429/503 | After a lost response (timeout, reset, truncated answer, 504) |
//! |---|---|---|---|
//! | `assignLicense` (v1.0) | yes: adding a SKU the group holds (same disabled plans) or removing one it does not hold changes nothing | wait as told, re-read, resend only if the group does not show the change | re-read until it shows the change or the settle window has passed; then resend (harmless even if the lost one landed later than the window) |
//! | create a cloudLicensing assignment (beta) | no: a second create is a second assignment, or a conflict | wait as told, re-read, resend only if the group has no assignment of that allotment | re-read until it shows the assignment or the settle window has passed; if it never shows, return [`GraphError::OutcomeUnknown`] saying so, never resent here |
//! | update a cloudLicensing assignment's `disabledServicePlanIds` (beta, PATCH on the group route) | yes: setting the same list twice changes nothing | wait as told, re-read, resend only if the assignment does not show the new list | re-read until it shows the list or the settle window has passed; then resend once |
//! | delete a cloudLicensing assignment (beta, group route) | yes: deleting twice cannot remove more (a second delete of a gone id is a 404 the caller takes as done) | wait as told, re-read, resend only if the group still holds the assignment | re-read until the assignment is gone or the settle window has passed; then resend once |
//!
//! `assignLicense`, an update and a delete are resent after a lost response at most once: if the resend's response is
//! lost too, the call returns [`GraphError::OutcomeUnknown`] saying both were lost.
//!
//! Why a settle window: Graph's reads can lag its writes (read-after-write lag), so a re-read
//! right after a lost response can show the old state of a write that landed. Resending on that
//! evidence wrote 28 of 85 groups twice in a fault run and reported "did not land". Re-reading
//! until the window ([`crate::ClientConfig::write_settle`], default 5 s) has passed gives
//! evidence that outlives the lag; a 429/503 was not processed by Graph, so there one re-read
//! after the wait suffices.
//!
//! What is known ends up in the result: [`Sent::note`] says when a response was lost and how
//! the outcome was established, and [`GraphError::OutcomeUnknown`] says what the re-reads saw.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use devlic_model::{GroupId, ServicePlanId, SkuId};

use crate::client::GraphClient;
use crate::error::GraphError;
use crate::retry::retry_after_from;
use crate::transport::{Failure, LastAttempt, Request, Response};
use crate::writes::AddLicense;

/// How often the settle loop re-reads at most (it reads at least four times per window).
const SETTLE_STEP: Duration = Duration::from_millis(500);

/// How to tell whether a write landed, and whether resending it is harmless (see the module
/// documentation for the table).
#[derive(Debug, Clone, Copy)]
pub(crate) enum WriteRule<'a> {
    /// `assignLicense`: landed when the group shows `add` (with the same disabled plans) and
    /// none of `remove`. Idempotent.
    AssignLicense {
        group: GroupId,
        add: &'a [AddLicense],
        remove: &'a [SkuId],
    },
    /// Creating a cloudLicensing assignment: landed when the group has an assignment of
    /// `allotment_id`. Not idempotent.
    CreateAssignment {
        group: GroupId,
        allotment_id: &'a str,
    },
    /// Updating the disabled plans of a cloudLicensing assignment of `group`: landed when the
    /// assignment shows exactly `disabled_plans`. Idempotent.
    UpdateAssignment {
        group: GroupId,
        assignment_id: &'a str,
        disabled_plans: &'a BTreeSet<ServicePlanId>,
    },
    /// Deleting a cloudLicensing assignment of `group`: landed when the group no longer has an
    /// assignment `assignment_id`. Idempotent.
    DeleteAssignment {
        group: GroupId,
        assignment_id: &'a str,
    },
}

/// A write that went through.
#[derive(Debug)]
pub(crate) struct Sent {
    /// Graph's `request-id` of the accepted request (our `client-request-id` if Graph sent none,
    /// or the last one when a re-read proved the write had landed).
    pub request_id: String,
    /// The `client-request-id` of the last request sent.
    pub client_request_id: String,
    /// Requests sent for this write.
    pub attempts: u32,
    /// The accepted response (absent when a re-read proved the write had landed).
    pub response: Option<Response>,
    /// What happened beyond "accepted at once", e.g. a lost response and how its outcome was
    /// established.
    pub note: Option<String>,
}

/// What the settle loop saw.
enum Settled {
    /// The write is visible, this long after the lost response.
    Landed(Duration),
    /// Not visible in any re-read over the whole window.
    NotVisible,
}

impl GraphClient {
    /// Sends one write under `rule` (see the module documentation).
    pub(crate) async fn send_write(
        &self,
        req: &Request,
        rule: WriteRule<'_>,
    ) -> Result<Sent, GraphError> {
        let t = self.transport();
        let method = req.method.as_str();
        let path = req.url.path();
        let unknown =
            |detail: String, request_id: Option<String>, crid: String| GraphError::OutcomeUnknown {
                method: method.to_owned(),
                path: path.to_owned(),
                detail,
                request_id,
                client_request_id: crid,
            };
        let first_sent = Instant::now();
        let mut retry = 0u32;
        let mut attempts = 0u32;
        let mut note: Option<String> = None;
        let mut lost_responses = 0u32;
        loop {
            attempts += 1;
            // Every write takes a turn and a slot of the client's pace (pacing.rs), resends
            // included, and tells the pacer what Graph answered before it gives the turn up,
            // so the next writer sees a 429's hold.
            let pacer = &self.inner.write_pacer;
            let turn = pacer.acquire().await;
            let (crid, outcome) = t.send_once(req, attempts - 1).await;
            match &outcome {
                Ok(resp) => {
                    pacer.count(Some(resp.status));
                    let header = |n: &str| resp.headers.get(n).and_then(|v| v.to_str().ok());
                    if (200..300).contains(&resp.status) {
                        pacer.accepted(crate::pacing::limit_percentage(header(
                            "x-ms-throttle-limit-percentage",
                        )));
                    } else if resp.status == 429 && resp.headers.contains_key("x-ms-throttle-scope")
                    {
                        // Only a budget 429 paces every writer: Graph marks those with
                        // `x-ms-throttle-scope` (concepts/throttling-limits.md, "Throttled
                        // responses requests"); any other 429 or 503 is this request's own,
                        // waited out by this writer alone.
                        pacer.throttled(retry_after_from(header, jiff::Timestamp::now()));
                    }
                }
                // Answered (unread) or perhaps reached Graph: it went out.
                Err(Failure::TooLarge { .. } | Failure::Unknown(_)) => pacer.count(None),
                Err(_) => {}
            }
            drop(turn);
            let lost = match outcome {
                Ok(resp) if (200..300).contains(&resp.status) => {
                    return Ok(Sent {
                        request_id: resp.request_id.clone().unwrap_or_else(|| crid.clone()),
                        client_request_id: crid,
                        attempts,
                        response: Some(resp),
                        note,
                    });
                }
                Ok(resp) if matches!(resp.status, 429 | 503) => {
                    let ra = retry_after_from(
                        |n| resp.headers.get(n).and_then(|v| v.to_str().ok()),
                        jiff::Timestamp::now(),
                    );
                    let last = LastAttempt {
                        outcome: format!("HTTP {}", resp.status),
                        request_id: resp.request_id.clone(),
                        client_request_id: crid.clone(),
                    };
                    t.wait_to_retry(req, first_sent, (retry, attempts), ra, last)
                        .await?;
                    retry += 1;
                    // Graph did not process a 429/503, but look before resending anyway.
                    if self.write_visible(&rule).await? {
                        return Ok(Sent {
                            request_id: resp.request_id.unwrap_or_else(|| crid.clone()),
                            client_request_id: crid,
                            attempts,
                            response: None,
                            note,
                        });
                    }
                    continue;
                }
                Ok(resp) if resp.status == 504 => (
                    "gateway timeout (504): Graph may have applied it".to_owned(),
                    resp.request_id,
                    crid,
                ),
                Ok(resp) => return Err(resp.into_service_error()),
                Err(Failure::Auth(e)) => return Err(GraphError::Auth(e)),
                // Nothing reached Graph and nothing will: report it rather than wait.
                Err(Failure::Unreachable(detail)) => return Err(t.unreachable(detail)),
                Err(Failure::Deadline) => {
                    return Err(t.gave_up(req, first_sent, attempts - 1, crid));
                }
                Err(Failure::NotSent(detail)) => {
                    // Nothing reached Graph: resending cannot double the write.
                    let last = LastAttempt {
                        outcome: detail,
                        request_id: None,
                        client_request_id: crid,
                    };
                    t.wait_to_retry(req, first_sent, (retry, attempts), None, last)
                        .await?;
                    retry += 1;
                    continue;
                }
                // Answered but unread (too large), or no complete answer: unknown outcome.
                Err(Failure::TooLarge { detail, request_id }) => (detail, request_id, crid),
                Err(Failure::Unknown(detail)) => (detail, None, crid),
            };
            let (detail, request_id, crid) = lost;
            lost_responses += 1;
            let what = format!("the response to attempt {attempts} was lost ({detail})");
            let settled = match self.settle(&rule).await {
                Ok(s) => s,
                Err(e) => {
                    return Err(unknown(
                        format!("{what}; re-reading to check failed: {e}"),
                        request_id,
                        crid,
                    ));
                }
            };
            match settled {
                Settled::Landed(after) => {
                    return Ok(Sent {
                        request_id: request_id.unwrap_or_else(|| crid.clone()),
                        client_request_id: crid,
                        attempts,
                        response: None,
                        note: Some(join(
                            note,
                            format!(
                                "{what}; a re-read {:.1}s later showed it had landed",
                                after.as_secs_f64()
                            ),
                        )),
                    });
                }
                Settled::NotVisible if matches!(rule, WriteRule::CreateAssignment { .. }) => {
                    return Err(unknown(
                        format!(
                            "{what}; re-reads for {}s did not show it, and it was not sent again because a create is not idempotent",
                            t.write_settle.as_secs_f64()
                        ),
                        request_id,
                        crid,
                    ));
                }
                Settled::NotVisible if lost_responses > 1 => {
                    // Sent twice, both answers lost: something is wrong between devlic and
                    // Graph; stop and say what is known rather than keep sending.
                    return Err(unknown(
                        format!(
                            "{what}; the response to an earlier attempt was lost too, and re-reads did not show the change; not sent a third time"
                        ),
                        request_id,
                        crid,
                    ));
                }
                Settled::NotVisible => {
                    // Idempotent: resending cannot apply it twice. Once, and bounded by time.
                    if let Err(reason) = t.plan_retry(first_sent, retry, Some(Duration::ZERO)) {
                        return Err(unknown(
                            format!("{what}; not resent: {reason}"),
                            request_id,
                            crid,
                        ));
                    }
                    retry += 1;
                    let why = match rule {
                        WriteRule::DeleteAssignment { .. } => "deleting twice cannot remove more",
                        WriteRule::UpdateAssignment { .. } => {
                            "setting the same disabled plans twice changes nothing"
                        }
                        _ => "assignLicense is idempotent",
                    };
                    let resent = format!(
                        "{what}; re-reads for {}s did not show it, so it was sent again ({why})",
                        t.write_settle.as_secs_f64()
                    );
                    note = Some(join(note, resent));
                }
            }
        }
    }

    /// Re-reads until the write under `rule` is visible or the settle window has passed.
    async fn settle(&self, rule: &WriteRule<'_>) -> Result<Settled, GraphError> {
        let window = self.transport().write_settle;
        let step = (window / 4).min(SETTLE_STEP);
        let started = Instant::now();
        loop {
            if self.write_visible(rule).await? {
                return Ok(Settled::Landed(started.elapsed()));
            }
            if started.elapsed() >= window {
                return Ok(Settled::NotVisible);
            }
            tokio::time::sleep(step.max(Duration::from_millis(10))).await;
        }
    }

    /// One re-read: whether the group shows the write under `rule`.
    async fn write_visible(&self, rule: &WriteRule<'_>) -> Result<bool, GraphError> {
        match rule {
            WriteRule::AssignLicense { group, add, remove } => Ok(self
                .read_group_license_state(*group)
                .await?
                .shows(add, remove)),
            WriteRule::CreateAssignment {
                group,
                allotment_id,
            } => Ok(self
                .read_group_assignments(&[*group])
                .await?
                .get(group)
                .is_some_and(|l| {
                    l.iter()
                        .any(|a| a.allotment_id.eq_ignore_ascii_case(allotment_id))
                })),
            WriteRule::UpdateAssignment {
                group,
                assignment_id,
                disabled_plans,
            } => Ok(self
                .read_group_assignments(&[*group])
                .await?
                .get(group)
                .is_some_and(|l| {
                    l.iter().any(|a| {
                        a.id.eq_ignore_ascii_case(assignment_id)
                            && a.disabled_plans == **disabled_plans
                    })
                })),
            WriteRule::DeleteAssignment {
                group,
                assignment_id,
            } => Ok(!self
                .read_group_assignments(&[*group])
                .await?
                .get(group)
                .is_some_and(|l| l.iter().any(|a| a.id.eq_ignore_ascii_case(assignment_id)))),
        }
    }
}

/// `earlier; later`, or `later` alone.
fn join(earlier: Option<String>, later: String) -> String {
    match earlier {
        Some(e) => format!("{e}; then {later}"),
        None => later,
    }
}
