//! The run report's device usage rights (cloud-licensing): per touched group, how many of its
//! devices hold a usage right for the group's subscription after apply, and how it renders.

use std::fmt::Write as _;

use devlic_model::display::markdown_text;
use devlic_model::{GroupRef, SkuRef};
use serde::Serialize;

/// The devices' usage rights read after a cloud-licensing apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRightsCheck {
    /// The most devices read in one apply ([`crate::USAGE_RIGHTS_DEVICE_CAP`]).
    pub device_cap: u64,
    /// True when the cap cut the read short: some groups' devices were not all read.
    pub truncated: bool,
    /// One entry per touched group and the subscription it gained or kept, in plan order.
    pub groups: Vec<GroupUsageRights>,
    /// Why the read failed, if it did (`groups` is then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_error: Option<String>,
}

/// How many of one group's devices hold a usage right for its subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupUsageRights {
    /// The group.
    pub group: GroupRef,
    /// The subscription the group should grant.
    pub sku: SkuRef,
    /// Transitive device members of the group.
    pub devices: u64,
    /// Devices whose usage rights were read (fewer than `devices` when the cap was reached).
    pub devices_read: u64,
    /// Devices read that hold a usage right for `sku`.
    pub holders: u64,
}

impl GroupUsageRights {
    /// "3 of 5 device(s) hold Microsoft 365 Apps (…)", with the cap said when it cut the read.
    pub fn sentence(&self) -> String {
        let mut s = format!(
            "{} of {} device(s) hold {}",
            self.holders,
            self.devices_read,
            self.sku.label()
        );
        if self.devices_read < self.devices {
            let _ = write!(
                s,
                " (only {} of the group's {} devices read: the per-apply cap was reached)",
                self.devices_read, self.devices
            );
        }
        s
    }
}

impl UsageRightsCheck {
    /// What is wrong, if anything: devices read that hold no right, or the read failing.
    /// A read cut short by the cap is not a failure (the counts say how far it went).
    pub fn shortfall(&self) -> Option<String> {
        let mut why: Vec<String> = self
            .groups
            .iter()
            .filter(|g| g.holders < g.devices_read)
            .map(|g| format!("{}: {}", g.group.display_name, g.sentence()))
            .collect();
        if let Some(e) = &self.read_error {
            why.push(format!("reading the devices' usage rights failed: {e}"));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// The Markdown section: one table row per group, then the cap and any read error.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        md.push_str("\n**Device usage rights after apply**\n\n");
        if !self.groups.is_empty() {
            md.push_str("| group | subscription | devices holding it | devices read | devices |\n");
            md.push_str("|---|---|---:|---:|---:|\n");
            for g in &self.groups {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} |",
                    markdown_text(&g.group.display_name),
                    markdown_text(&g.sku.label()),
                    g.holders,
                    g.devices_read,
                    g.devices
                );
            }
            md.push('\n');
        }
        if self.truncated {
            let _ = writeln!(
                md,
                "- the read stopped at the cap of {} devices per apply: not every device was read",
                self.device_cap
            );
        }
        if let Some(e) = &self.read_error {
            let _ = writeln!(
                md,
                "- reading the devices' usage rights failed: {}",
                markdown_text(e)
            );
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use devlic_model::{GroupId, SkuId};

    use super::*;
    use crate::Verification;

    fn verification(holders: u64, devices_read: u64) -> Verification {
        Verification {
            pending_groups: Vec::new(),
            vanished_groups: Vec::new(),
            unknown_states: Vec::new(),
            license_errors: Vec::new(),
            read_error: None,
            usage_rights: Some(UsageRightsCheck {
                device_cap: 1000,
                truncated: false,
                groups: vec![GroupUsageRights {
                    group: GroupRef {
                        id: GroupId::parse("1a2b3c4d-0001-4a5b-8c6d-000000000001").unwrap(),
                        display_name: "Kiosks".to_owned(),
                    },
                    sku: SkuRef {
                        sku_id: SkuId::parse("ea4c5ec8-50e3-4193-89b9-50da5bd4cdc7").unwrap(),
                        sku_part_number: "OFFICE_PROPLUS_DEVICE1".to_owned(),
                    },
                    devices: devices_read,
                    devices_read,
                    holders,
                }],
                read_error: None,
            }),
            duration_ms: 0,
        }
    }

    /// Green means licensed: a device read without a usage right makes verification unclean
    /// (so the run fails) even when Graph reported no waiting member for it.
    #[test]
    fn a_device_without_its_usage_right_makes_verification_unclean() {
        assert!(verification(12, 12).is_clean());
        let short = verification(11, 12);
        assert!(!short.is_clean());
        assert_eq!(
            short
                .usage_rights
                .as_ref()
                .and_then(UsageRightsCheck::shortfall),
            Some(
                "Kiosks: 11 of 12 device(s) hold OFFICE_PROPLUS_DEVICE1 (Microsoft 365 Apps for \
                 enterprise (device))"
                    .to_owned()
            )
        );
    }
}
