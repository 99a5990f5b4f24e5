//! The run report as Markdown (`--summary-markdown`, for `$GITHUB_STEP_SUMMARY`).

use std::fmt::Write as _;

use devlic_model::display::{markdown_code, markdown_text};

use super::{ActionOutcome, RunReport, causes_text, error_codes, kind_word, stop_title};

impl RunReport {
    /// A Markdown summary for `$GITHUB_STEP_SUMMARY`. Every string from the tenant or from
    /// Graph (names, part numbers, error messages and codes, request-ids) is escaped with the
    /// planner's Markdown escaping, so none can break the table, open HTML or carry a control
    /// character.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let verdict = match (&self.stopped, self.success) {
            (Some(_), _) => "⛔ devlic apply stopped: nothing was written",
            (None, true) => "✅ devlic apply succeeded",
            (None, false) => "❌ devlic apply failed",
        };
        let _ = writeln!(md, "### {verdict}\n");
        let _ = writeln!(
            md,
            "Tenant {} · backend `{}` · {} applied · {} already applied · {} failed · {:.1} s\n",
            markdown_code(&self.tenant),
            self.backend,
            self.count(ActionOutcome::Applied),
            self.count(ActionOutcome::AlreadyApplied),
            self.count(ActionOutcome::Failed),
            self.duration_ms as f64 / 1000.0
        );
        if let Some(w) = &self.writes {
            let _ = writeln!(md, "Writes: {}.\n", w.sentence());
        }
        if let Some(stopped) = &self.stopped {
            let _ = writeln!(md, "**{}**\n", stop_title(stopped.reason));
            for line in stopped.message.lines().filter(|l| !l.trim().is_empty()) {
                let _ = writeln!(md, "- {}", markdown_text(line.trim()));
            }
            for g in &stopped.stale_groups {
                let _ = writeln!(
                    md,
                    "- **{}**: changed since the plan was made",
                    markdown_text(&g.group.display_name)
                );
            }
            md.push('\n');
        }
        if !self.actions.is_empty() {
            md.push_str("| outcome | action | group | subscription | devices | request-id |\n");
            md.push_str("|---|---|---|---|---:|---|\n");
            for a in &self.actions {
                let outcome = match a.outcome {
                    ActionOutcome::Applied => "applied",
                    ActionOutcome::AlreadyApplied => "already applied",
                    ActionOutcome::Failed => "**failed**",
                    ActionOutcome::NotWritten => "not written",
                };
                let sku = match (&a.from_sku, &a.moved) {
                    (Some(from), _) => format!(
                        "{} → {}",
                        markdown_text(&from.label()),
                        markdown_text(&a.sku.label())
                    ),
                    (None, Some(m)) => format!(
                        "{} ({})",
                        markdown_text(&a.sku.label()),
                        markdown_text(&m.to_string())
                    ),
                    (None, None) => markdown_text(&a.sku.label()),
                };
                let _ = writeln!(
                    md,
                    "| {outcome} | {} | {} | {sku} | {} | {} |",
                    kind_word(a.action),
                    markdown_text(&a.group.display_name),
                    a.devices.map_or_else(|| "?".to_owned(), |d| d.to_string()),
                    markdown_text(a.request_ids.last().map_or("", String::as_str))
                );
            }
            md.push('\n');
        }
        for a in self.actions.iter().filter(|a| a.error.is_some()) {
            let _ = writeln!(
                md,
                "- **{}**: {}",
                markdown_text(&a.group.display_name),
                markdown_text(a.error.as_deref().unwrap_or_default())
            );
        }
        if let Some(v) = &self.verification {
            for id in &v.pending_groups {
                let _ = writeln!(
                    md,
                    "- **{}**: license processing did not finish in time; check again later",
                    markdown_text(&self.group_name(*id))
                );
            }
            for g in &v.license_errors {
                let _ = writeln!(
                    md,
                    "- **{}**: {} member(s) with license errors ({})",
                    markdown_text(&self.group_name(g.group)),
                    g.members.len(),
                    markdown_text(&error_codes(&g.members))
                );
            }
            for id in &v.vanished_groups {
                let _ = writeln!(
                    md,
                    "- **{}**: the group no longer exists (deleted during the run)",
                    markdown_text(&self.group_name(*id))
                );
            }
            for u in &v.unknown_states {
                let _ = writeln!(
                    md,
                    "- **{}**: Graph reports a license processing state devlic does not know ({})",
                    markdown_text(&self.group_name(u.group)),
                    markdown_code(&u.state)
                );
            }
            if let Some(e) = &v.read_error {
                let _ = writeln!(
                    md,
                    "- verification could not read the tenant: {}",
                    markdown_text(e)
                );
            }
            if let Some(u) = &v.usage_rights {
                md.push_str(&u.to_markdown());
            }
        }
        for u in &self.unlicensed {
            let _ = writeln!(
                md,
                "- **{}**: {} device(s) not licensed ({}); no write of devlic can fix this: add units to the subscription or remove devices from the group",
                markdown_text(&u.group.display_name),
                u.devices,
                markdown_text(&causes_text(u))
            );
        }
        md
    }
}
