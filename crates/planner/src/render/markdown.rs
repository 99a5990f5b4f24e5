//! The pull-request comment rendering (GitHub-flavoured Markdown).

use std::fmt::Write as _;

// One escaping for every Markdown devlic writes (the run report uses the same): data can
// neither break a table cell nor open an HTML tag such as `<details>`.
use devlic_model::display::{markdown_code as code, markdown_text as esc, sanitize};
use devlic_model::{Action, ActionKind, Plan};

use super::{
    UNLICENSED_HELP, capacity_text, devices_text, offline_banner, plans_text, reason_text,
    shortfall_banner, summary_line, symbol, tenant_text, verb, warning_kind_text, warning_text,
};
use crate::wire::guard_message;

/// GitHub's limit for one comment body. [`markdown`] output never exceeds it (counted in bytes,
/// which is stricter than GitHub's character count).
pub const MARKDOWN_LIMIT: usize = 65_535;

/// Room kept free below the limit for the parts written after the truncated sections.
const RESERVE: usize = 2_000;

fn kind_devices(plan: &Plan, kind: ActionKind) -> (u64, u64) {
    plan.actions
        .iter()
        .filter(|a| a.kind == kind)
        .fold((0, 0), |(n, d), a| (n + 1, d + a.devices.unwrap_or(0)))
}

fn head(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## devlic plan: {}\n", esc(&tenant_text(plan)));
    if let Some(banner) = shortfall_banner(plan) {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **{}.** Apply refuses this plan unless `--allow-shortfall` (or \
             `settings.allowShortfall`) is given.\n",
            esc(&banner)
        );
    }
    if !plan.unlicensed.is_empty() {
        let _ = writeln!(
            out,
            "> [!IMPORTANT]\n> **{} device{} of the spec's groups {} not licensed now.** {}",
            plan.unlicensed_devices(),
            if plan.unlicensed_devices() == 1 {
                ""
            } else {
                "s"
            },
            if plan.unlicensed_devices() == 1 {
                "is"
            } else {
                "are"
            },
            esc(UNLICENSED_HELP)
        );
        for u in plan.unlicensed.iter().take(10) {
            let _ = writeln!(
                out,
                "> - {} ({}): {} not licensed: {}",
                esc(&u.group.display_name),
                code(&u.group.id.to_string()),
                devices_text(Some(u.devices)),
                esc(&devlic_model::license_errors::causes_line(&u.causes))
            );
        }
        if plan.unlicensed.len() > 10 {
            let _ = writeln!(out, "> - … and {} more", plan.unlicensed.len() - 10);
        }
        out.push('\n');
    }
    if let Some(banner) = offline_banner(plan) {
        let _ = writeln!(out, "> [!NOTE]\n> **{}**", esc(&banner));
        let _ = writeln!(
            out,
            "> Apply re-reads every group it touches and refuses if one has moved since.\n"
        );
    }
    let _ = writeln!(out, "| Change | Groups | Devices |\n|---|---:|---:|");
    for kind in [
        ActionKind::Assign,
        ActionKind::Swap,
        ActionKind::Move,
        ActionKind::Update,
        ActionKind::Revoke,
    ] {
        let (n, d) = kind_devices(plan, kind);
        // Moves exist only on cloud-licensing; a row of zeros elsewhere would only puzzle.
        if kind == ActionKind::Move && n == 0 {
            continue;
        }
        let _ = writeln!(out, "| {} {} | {n} | {d} |", code(symbol(kind)), verb(kind));
    }
    let _ = writeln!(out, "\n**{}**\n", summary_line(plan));

    let revokes: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Revoke)
        .collect();
    if !revokes.is_empty() {
        let devices: u64 = revokes.iter().filter_map(|a| a.devices).sum();
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **This plan revokes device licenses from {} group{} ({}).** \
             Microsoft 365 Apps on those devices become read-only: documents can be viewed and \
             printed, not edited or created.",
            revokes.len(),
            if revokes.len() == 1 { "" } else { "s" },
            devices_text(Some(devices))
        );
        for a in revokes.iter().take(10) {
            let _ = writeln!(
                out,
                "> - {} ({}): {} from {}",
                esc(&a.group.display_name),
                code(&a.group.id.to_string()),
                esc(&a.sku.label()),
                devices_text(a.devices)
            );
        }
        if revokes.len() > 10 {
            let _ = writeln!(out, "> - … and {} more", revokes.len() - 10);
        }
        out.push('\n');
    }
    let two_step_swaps = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Swap)
        .count();
    if plan.backend.writes_in_two_steps() && two_step_swaps > 0 {
        let cloud_swaps = two_step_swaps;
        // cloudLicensing has no single add-and-remove call, so reviewers should know the order.
        let _ = writeln!(
            out,
            "> [!NOTE]\n> **Swaps on cloud-licensing** ({cloud_swaps}): for each, the new \
             assignment is created first, then the old one is removed, so the devices are never \
             unlicensed in between.\n"
        );
    }
    let moves = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Move)
        .count();
    if moves > 0 {
        let _ = writeln!(
            out,
            "> [!NOTE]\n> **Moves between allotments** ({moves}): each group keeps its \
             subscription's product but takes it from another allotment (another subscription). \
             The new assignment is created first, then the old one is removed, so the devices \
             are never unlicensed in between.\n"
        );
    }
    if !plan.guard_violations.is_empty() {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> **Guards tripped**: apply refuses this plan unless they are \
             explicitly passed."
        );
        for g in &plan.guard_violations {
            let _ = writeln!(out, "> - {}", esc(&guard_message(g)));
        }
        out.push('\n');
    }
    out
}

fn action_row(a: &Action) -> String {
    let sku = match (&a.kind, &a.from_sku) {
        (ActionKind::Swap, Some(from)) => {
            format!("{} → {}", esc(&from.label()), esc(&a.sku.label()))
        }
        (ActionKind::Move, _) => format!(
            "{} ({} → {})",
            esc(&a.sku.label()),
            esc(&a
                .from_allotment
                .as_ref()
                .map_or_else(|| "?".to_owned(), super::allotment_label)),
            esc(&a
                .allotment
                .as_ref()
                .map_or_else(|| "?".to_owned(), super::allotment_label))
        ),
        (ActionKind::Update, _) => format!(
            "{} (disabled plans: {} → {})",
            esc(&a.sku.label()),
            plans_text(&super::current_disabled(a)),
            plans_text(&a.disabled_plans)
        ),
        _ => esc(&a.sku.label()),
    };
    format!(
        "| {} {} | {}<br>{} | {sku} | {} | {} |\n",
        code(symbol(a.kind)),
        verb(a.kind),
        esc(&a.group.display_name),
        code(&a.group.id.to_string()),
        a.devices.map_or_else(|| "?".to_owned(), |d| d.to_string()),
        esc(&reason_text(a))
    )
}

const TABLE_HEAD: &str =
    "| Action | Group | Subscription | Devices | Why |\n|---|---|---|---:|---|\n";

fn details(summary: &str, body: &str) -> String {
    format!("<details><summary>{summary}</summary>\n\n{body}\n</details>\n\n")
}

fn capacity_section(plan: &Plan) -> String {
    if plan.capacity.is_empty() {
        return String::new();
    }
    let body: String = plan
        .capacity
        .iter()
        .map(|l| format!("- {}\n", code(&capacity_text(l))))
        .collect();
    details("Capacity per device subscription", &body)
}

fn warning_line(w: &devlic_model::Warning) -> String {
    format!(
        "- **{}**: {}\n",
        warning_kind_text(w.kind),
        esc(&warning_text(w))
    )
}

fn mapping_line(
    name: &str,
    sku: &str,
    disabled: &std::collections::BTreeSet<devlic_model::ServicePlanId>,
) -> String {
    // Inside a fenced block nothing is Markdown or HTML; only control characters matter.
    let (name, sku) = (sanitize(name), sanitize(sku));
    if disabled.is_empty() {
        format!("{name} -> {sku}\n")
    } else {
        format!(
            "{name} -> {sku} (disabled plans: {})\n",
            plans_text(disabled)
        )
    }
}

/// The current and desired `group -> SKU` mapping of the groups the plan touches.
fn mappings(plan: &Plan) -> (String, String) {
    let mut current = String::new();
    let mut desired = String::new();
    for a in &plan.actions {
        let name = &a.group.display_name;
        match a.kind {
            ActionKind::Assign => desired.push_str(&mapping_line(
                name,
                &a.sku.sku_part_number,
                &a.disabled_plans,
            )),
            ActionKind::Revoke => current.push_str(&mapping_line(
                name,
                &a.sku.sku_part_number,
                &Default::default(),
            )),
            ActionKind::Swap => {
                let from = a
                    .from_sku
                    .as_ref()
                    .map_or("?", |s| s.sku_part_number.as_str());
                let old = a
                    .before
                    .iter()
                    .find(|l| Some(l.sku_id) == a.from_sku.as_ref().map(|s| s.sku_id));
                current.push_str(&mapping_line(
                    name,
                    from,
                    &old.map(|l| l.disabled_plans.clone()).unwrap_or_default(),
                ));
                desired.push_str(&mapping_line(
                    name,
                    &a.sku.sku_part_number,
                    &a.disabled_plans,
                ));
            }
            ActionKind::Move => {
                let via = |x: &Option<devlic_model::AllotmentRef>| {
                    format!(
                        "{} via {}",
                        a.sku.sku_part_number,
                        x.as_ref()
                            .map_or_else(|| "?".to_owned(), super::allotment_label)
                    )
                };
                current.push_str(&mapping_line(
                    name,
                    &via(&a.from_allotment),
                    &super::current_disabled(a),
                ));
                desired.push_str(&mapping_line(name, &via(&a.allotment), &a.disabled_plans));
            }
            ActionKind::Update => {
                current.push_str(&mapping_line(
                    name,
                    &a.sku.sku_part_number,
                    &super::current_disabled(a),
                ));
                desired.push_str(&mapping_line(
                    name,
                    &a.sku.sku_part_number,
                    &a.disabled_plans,
                ));
            }
        }
    }
    (current, desired)
}

fn diff_section(plan: &Plan) -> String {
    let (current, desired) = mappings(plan);
    let diff = similar::TextDiff::from_lines(current.as_str(), desired.as_str());
    let udiff = diff
        .unified_diff()
        .context_radius(3)
        .header("current", "desired")
        .to_string();
    let longest = udiff.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    details(
        "Mapping diff (current → desired, groups this plan changes)",
        &format!("{fence}diff\n{udiff}{fence}\n"),
    )
}

fn footer(plan: &Plan) -> String {
    let reason = plan
        .backend_reason
        .as_deref()
        .map(|r| format!(" ({})", esc(r)))
        .unwrap_or_default();
    format!(
        "<sub>backend {}{reason} · state read at {} · plan fingerprint {}</sub>\n",
        plan.backend,
        plan.state_taken_at,
        code(&plan.fingerprint.to_string())
    )
}

/// The plan as a pull-request comment: a summary table first, a prominent caution when anything
/// is revoked, tripped guards, then `<details>` blocks with every action, the capacity arithmetic,
/// the warnings and a unified diff of the current vs. desired `group -> SKU` mapping.
///
/// The result never exceeds [`MARKDOWN_LIMIT`]: when the full comment would, the actions and
/// warnings are listed until the budget runs out (revocations first), the diff is left out, and a
/// note says how many were omitted and where to see them.
pub fn markdown(plan: &Plan) -> String {
    let head = head(plan);
    let capacity = capacity_section(plan);
    let footer = footer(plan);
    if plan.actions.is_empty() && plan.warnings.is_empty() {
        return format!("{head}{capacity}{footer}");
    }

    let rows: Vec<String> = plan.actions.iter().map(action_row).collect();
    let warnings: Vec<String> = plan.warnings.iter().map(warning_line).collect();
    let rows_len: usize = rows.iter().map(String::len).sum::<usize>() + TABLE_HEAD.len() + 100;
    let warn_len: usize = warnings.iter().map(String::len).sum::<usize>() + 100;
    // Every mapping line changes, so the diff is about as long as both mappings together; only
    // compute it when it can fit (a diff of tens of thousands of lines is also slow).
    let diff_estimate: usize = plan
        .actions
        .iter()
        .map(|a| 2 * (a.group.display_name.len() + a.sku.sku_part_number.len() + 80))
        .sum::<usize>()
        + 200;
    let fixed = head.len() + capacity.len() + footer.len();
    if fixed + rows_len + warn_len + diff_estimate + RESERVE <= MARKDOWN_LIMIT {
        let diff = if plan.actions.is_empty() {
            String::new()
        } else {
            diff_section(plan)
        };
        let actions = if rows.is_empty() {
            String::new()
        } else {
            details(
                &format!("Actions ({})", rows.len()),
                &format!("{TABLE_HEAD}{}", rows.concat()),
            )
        };
        let warns = if warnings.is_empty() {
            String::new()
        } else {
            details(
                &format!("Warnings ({})", warnings.len()),
                &warnings.concat(),
            )
        };
        let full = format!("{head}{actions}{capacity}{warns}{diff}{footer}");
        if full.len() <= MARKDOWN_LIMIT {
            return full;
        }
    }
    summarised(plan, &head, &capacity, &footer, &rows, &warnings)
}

/// Fills the budget left after the fixed parts: two thirds for actions (revocations first),
/// the rest for warnings.
fn summarised(
    plan: &Plan,
    head: &str,
    capacity: &str,
    footer: &str,
    rows: &[String],
    warnings: &[String],
) -> String {
    let note = "> [!NOTE]\n> This plan is too large for one comment, so it is summarised: the \
                mapping diff is left out and only part of the actions and warnings are listed. \
                See all of it with `devlic plan --format text`, or in the JSON plan \
                (`--format json`).\n\n";
    let fixed = head.len() + capacity.len() + footer.len() + note.len() + 4 * RESERVE / 2;
    let budget = MARKDOWN_LIMIT.saturating_sub(fixed);
    let action_budget = if warnings.is_empty() {
        budget
    } else {
        budget * 2 / 3
    };

    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| plan.actions[i].kind != ActionKind::Revoke);
    let mut body = String::from(TABLE_HEAD);
    let mut shown = 0;
    for &i in &order {
        if body.len() + rows[i].len() > action_budget {
            break;
        }
        body.push_str(&rows[i]);
        shown += 1;
    }
    if shown < rows.len() {
        let _ = write!(
            body,
            "\n… and {} more actions not shown.\n",
            rows.len() - shown
        );
    }
    let actions = details(&format!("Actions ({shown} of {} shown)", rows.len()), &body);

    let warn_budget = budget.saturating_sub(actions.len());
    let mut wbody = String::new();
    let mut wshown = 0;
    for w in warnings {
        if wbody.len() + w.len() > warn_budget {
            break;
        }
        wbody.push_str(w);
        wshown += 1;
    }
    if wshown < warnings.len() {
        let _ = write!(
            wbody,
            "\n… and {} more warnings not shown.\n",
            warnings.len() - wshown
        );
    }
    let warns = if warnings.is_empty() {
        String::new()
    } else {
        details(
            &format!("Warnings ({wshown} of {} shown)", warnings.len()),
            &wbody,
        )
    };
    format!("{head}{note}{actions}{capacity}{warns}{footer}")
}
