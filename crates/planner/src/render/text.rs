//! The terminal rendering, terraform-like.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use devlic_model::display::sanitize;
use devlic_model::{ActionKind, Plan};

use super::{
    UNLICENSED_HELP, capacity_text, describe, group_label, offline_banner, reason_text,
    shortfall_banner, summary_line, symbol, tenant_text, unlicensed_lines, verb, warning_kind_text,
    warning_text,
};
use crate::wire::guard_message;

/// Options of [`text`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// Emit ANSI colour codes. The caller decides (terminal detection, `NO_COLOR`); the renderer
    /// never looks at the environment, which keeps it pure.
    pub color: bool,
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
}

fn kind_style(kind: ActionKind) -> Style {
    match kind {
        ActionKind::Assign => AnsiColor::Green.on_default(),
        ActionKind::Revoke => AnsiColor::Red.on_default().bold(),
        ActionKind::Update => AnsiColor::Yellow.on_default(),
        ActionKind::Swap => AnsiColor::Cyan.on_default(),
        ActionKind::Move => AnsiColor::Blue.on_default(),
    }
}

/// The plan as terminal text: a header, one block per action (`+` assign, `-` revoke,
/// `~` update, `⇄` swap, `→` move), capacity arithmetic, warnings, tripped guards, and the summary line
/// `Plan: N to assign, N to revoke, N to swap, N to update.` (or `No changes. …`).
pub fn text(plan: &Plan, opts: &TextOptions) -> String {
    let p = Painter { color: opts.color };
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let warn = AnsiColor::Yellow.on_default();
    let bad = AnsiColor::Red.on_default().bold();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let mut out = String::new();

    if let Some(banner) = offline_banner(plan) {
        let _ = writeln!(out, "{}", p.paint(warn.bold(), &format!("!! {banner}")));
        let _ = writeln!(
            out,
            "{}",
            p.paint(
                warn,
                "!! Apply re-reads every group it touches and refuses if one has moved since."
            )
        );
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        p.paint(
            bold,
            &format!(
                "devlic plan for {} · backend {}",
                tenant_text(plan),
                plan.backend
            )
        )
    );
    if let Some(reason) = &plan.backend_reason {
        let _ = writeln!(
            out,
            "{}",
            p.paint(
                dim,
                &format!("Backend {}: {}.", plan.backend, sanitize(reason))
            )
        );
    }
    let _ = writeln!(
        out,
        "{}",
        p.paint(dim, &format!("State read at {}.", plan.state_taken_at))
    );
    if let Some(banner) = shortfall_banner(plan) {
        out.push('\n');
        let _ = writeln!(out, "{}", p.paint(bad, &format!("!! {banner}")));
        let _ = writeln!(
            out,
            "{}",
            p.paint(
                bad,
                "!! Apply refuses this plan unless --allow-shortfall (or settings.allowShortfall) is given."
            )
        );
    }
    let unlicensed = unlicensed_lines(plan);
    if !unlicensed.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            p.paint(
                bad,
                "Devices not licensed now (drift: plan --detailed-exitcode exits 2):"
            )
        );
        for line in &unlicensed {
            let _ = writeln!(out, "  {} {line}", p.paint(bad, "!"));
        }
        let _ = writeln!(out, "  {}", p.paint(dim, UNLICENSED_HELP));
    }

    if !plan.actions.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "devlic will make these changes:");
        for a in &plan.actions {
            let st = kind_style(a.kind);
            out.push('\n');
            let _ = writeln!(
                out,
                "  {} {}{}",
                p.paint(st, symbol(a.kind)),
                p.paint(st, &format!("{:<7}", verb(a.kind))),
                p.paint(bold, &group_label(&a.group))
            );
            let line = describe(a, plan);
            let _ = writeln!(
                out,
                "      {}",
                if a.kind == ActionKind::Revoke {
                    p.paint(st, &line)
                } else {
                    line
                }
            );
            let _ = writeln!(
                out,
                "      {}",
                p.paint(dim, &format!("why: {}", reason_text(a)))
            );
        }
    }

    if !plan.capacity.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            p.paint(bold, "Capacity (per device subscription):")
        );
        for l in &plan.capacity {
            let line = capacity_text(l);
            let _ = writeln!(
                out,
                "  {}",
                if l.available_after < 0 {
                    p.paint(warn, &line)
                } else {
                    line
                }
            );
        }
    }

    if !plan.warnings.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{}", p.paint(warn.bold(), "Warnings:"));
        for w in &plan.warnings {
            let _ = writeln!(
                out,
                "  {} {}",
                p.paint(warn, &format!("! [{}]", warning_kind_text(w.kind))),
                warning_text(w)
            );
        }
    }

    if !plan.guard_violations.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            p.paint(
                bad,
                "Guards tripped (apply refuses; plan --detailed-exitcode exits 3):"
            )
        );
        for g in &plan.guard_violations {
            let _ = writeln!(
                out,
                "  {} {}",
                p.paint(bad, "x"),
                devlic_model::display::sanitize(&guard_message(g))
            );
        }
    }

    out.push('\n');
    let _ = writeln!(out, "{}", p.paint(bold, &summary_line(plan)));
    out
}
