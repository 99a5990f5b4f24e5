//! Group-based licensing: one model per group, shared by every API view (v1.0 today, beta
//! cloudLicensing later), so an assignment made through one view shows in all of them.
//!
//! Processing is computed lazily from timestamps: a write records when it happened, and every
//! read first "settles" the groups whose processing delay has elapsed. No background task runs,
//! so the simulator's state is a pure function of the requests and the clock.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::tenant::{AssignedLicense, LicenseProcessingState, Tenant, TenantError};

/// The three states Graph reports in `licenseProcessingState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProcState {
    Queued,
    InProgress,
    Complete,
}

impl ProcState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProcState::Queued => "QueuedForProcessing",
            ProcState::InProgress => "ProcessingInProgress",
            ProcState::Complete => "ProcessingComplete",
        }
    }
}

/// What a read of a group's license properties shows (may be stale under read-after-write lag).
#[derive(Clone, Debug)]
pub(crate) struct LicenseView {
    pub(crate) assigned: Vec<AssignedLicense>,
    pub(crate) state: ProcState,
}

#[derive(Clone, Debug)]
struct GroupLicensing {
    /// What the group is assigned now (what Graph returns right after the 202).
    assigned: Vec<AssignedLicense>,
    /// What the devices are licensed from (catches up with `assigned` once processed).
    effective: Vec<AssignedLicense>,
    /// When the last write happened, while it is still being processed.
    changed_at: Option<Instant>,
    /// The view readers get until `until` (read-after-write lag).
    stale: Option<(LicenseView, Instant)>,
}

/// A license error on one member, as `membersWithLicenseErrors` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MemberError {
    pub(crate) member: String,
    pub(crate) sku: String,
}

/// The licensing state of the whole tenant.
#[derive(Clone, Debug)]
pub(crate) struct Licensing {
    groups: Vec<GroupLicensing>,
    index: HashMap<String, usize>,
    /// For each group, its transitive device members in member order (membership is static).
    devices_of: Vec<Vec<String>>,
    /// Device -> SKUs it holds a unit of.
    holdings: BTreeMap<String, BTreeSet<String>>,
    /// Units used by things other than group-licensed devices (users), constant.
    base_units: HashMap<String, i64>,
    /// Assignable units per SKU.
    capacity: HashMap<String, i64>,
    /// Group index -> members that could not be licensed.
    errors: BTreeMap<usize, Vec<MemberError>>,
}

impl Licensing {
    /// Builds the state for a freshly loaded tenant: every assignment processed, devices licensed
    /// in group and member order, `consumedUnits` split into devices + the rest.
    pub(crate) fn new(tenant: &Tenant) -> Result<Licensing, TenantError> {
        let index: HashMap<String, usize> = tenant
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.clone(), i))
            .collect();
        let devices: HashSet<&str> = tenant.devices.iter().map(|d| d.id.as_str()).collect();
        let devices_of = (0..tenant.groups.len())
            .map(|i| transitive_devices(tenant, &index, &devices, i))
            .collect();
        let capacity = tenant
            .subscribed_skus
            .iter()
            .map(|s| {
                (
                    s.sku_id.clone(),
                    s.prepaid_units.enabled + s.prepaid_units.warning,
                )
            })
            .collect();
        let mut lic = Licensing {
            groups: tenant
                .groups
                .iter()
                .map(|g| GroupLicensing {
                    assigned: g.assigned_licenses.clone(),
                    effective: g.assigned_licenses.clone(),
                    changed_at: None,
                    stale: None,
                })
                .collect(),
            index,
            devices_of,
            holdings: BTreeMap::new(),
            base_units: HashMap::new(),
            capacity,
            errors: BTreeMap::new(),
        };
        lic.reallocate();
        for sku in &tenant.subscribed_skus {
            let devices = lic.device_units(&sku.sku_id);
            if sku.consumed_units < devices {
                return Err(TenantError::InconsistentUnits {
                    sku: sku.sku_id.clone(),
                    declared: sku.consumed_units,
                    computed: devices,
                });
            }
            lic.base_units
                .insert(sku.sku_id.clone(), sku.consumed_units - devices);
        }
        Ok(lic)
    }

    pub(crate) fn group_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Completes the processing of every group whose delay has elapsed, then re-licenses.
    pub(crate) fn settle(&mut self, now: Instant, delay: Duration) {
        let mut changed = false;
        for g in &mut self.groups {
            if let Some(at) = g.changed_at
                && now.saturating_duration_since(at) >= delay
            {
                g.effective = g.assigned.clone();
                g.changed_at = None;
                changed = true;
            }
            if let Some((_, until)) = &g.stale
                && now >= *until
            {
                g.stale = None;
            }
        }
        if changed {
            self.reallocate();
        }
    }

    /// The processing state of a group at `now`.
    fn state(&self, i: usize, now: Instant, delay: Duration) -> ProcState {
        match self.groups[i].changed_at {
            None => ProcState::Complete,
            Some(at) => {
                let elapsed = now.saturating_duration_since(at);
                if elapsed >= delay {
                    ProcState::Complete
                } else if elapsed < delay / 2 {
                    ProcState::Queued
                } else {
                    ProcState::InProgress
                }
            }
        }
    }

    /// What a reader sees of group `i` (the pre-write view while read-after-write lag lasts).
    pub(crate) fn view(&self, i: usize, now: Instant, delay: Duration) -> LicenseView {
        let g = &self.groups[i];
        if let Some((view, until)) = &g.stale
            && now < *until
        {
            return view.clone();
        }
        LicenseView {
            assigned: g.assigned.clone(),
            state: self.state(i, now, delay),
        }
    }

    /// The current (never stale) assignment of group `i`.
    pub(crate) fn assigned(&self, i: usize) -> &[AssignedLicense] {
        &self.groups[i].assigned
    }

    /// Applies a validated `assignLicense`: removes, then adds (replacing an existing entry of
    /// the same SKU, which is how disabledPlans are updated), atomically.
    pub(crate) fn assign(
        &mut self,
        i: usize,
        add: Vec<AssignedLicense>,
        remove: &[String],
        now: Instant,
        delay: Duration,
        lag: Option<Duration>,
    ) {
        let before = self.view(i, now, delay);
        let g = &mut self.groups[i];
        g.assigned.retain(|l| !remove.contains(&l.sku_id));
        for a in add {
            match g.assigned.iter_mut().find(|l| l.sku_id == a.sku_id) {
                Some(existing) => *existing = a,
                None => g.assigned.push(a),
            }
        }
        g.changed_at = Some(now);
        g.stale = lag.filter(|l| !l.is_zero()).map(|l| (before, now + l));
        // With no delay the change is processed before anyone can observe it.
        self.settle(now, delay);
    }

    /// Members of group `i` with license errors.
    pub(crate) fn errors_of(&self, i: usize) -> &[MemberError] {
        self.errors.get(&i).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Units consumed by group-licensed devices.
    fn device_units(&self, sku: &str) -> i64 {
        self.holdings.values().filter(|s| s.contains(sku)).count() as i64
    }

    /// `consumedUnits` of a SKU as Graph would report it now.
    pub(crate) fn consumed(&self, sku: &str) -> i64 {
        self.base_units.get(sku).copied().unwrap_or(0) + self.device_units(sku)
    }

    /// Device -> SKUs it is licensed for.
    pub(crate) fn holdings(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.holdings
    }

    /// Recomputes which devices hold which SKU. Devices keep licenses they still qualify for
    /// (Entra never moves a unit from one device to another), freed units go to waiting devices
    /// in group then member order, and whoever does not fit gets CountViolation.
    fn reallocate(&mut self) {
        let mut entitled: BTreeSet<(String, String)> = BTreeSet::new();
        for (g, gl) in self.groups.iter().enumerate() {
            for l in &gl.effective {
                for d in &self.devices_of[g] {
                    entitled.insert((d.clone(), l.sku_id.clone()));
                }
            }
        }
        for (device, skus) in &mut self.holdings {
            skus.retain(|s| entitled.contains(&(device.clone(), s.clone())));
        }
        self.holdings.retain(|_, s| !s.is_empty());
        let mut used: HashMap<String, i64> = HashMap::new();
        for skus in self.holdings.values() {
            for s in skus {
                *used.entry(s.clone()).or_default() += 1;
            }
        }
        let mut errors: BTreeMap<usize, Vec<MemberError>> = BTreeMap::new();
        for (g, gl) in self.groups.iter().enumerate() {
            for l in &gl.effective {
                let sku = &l.sku_id;
                let cap = self.capacity.get(sku).copied().unwrap_or(0)
                    - self.base_units.get(sku).copied().unwrap_or(0);
                for d in &self.devices_of[g] {
                    let held = self.holdings.get(d).is_some_and(|s| s.contains(sku));
                    if held {
                        continue;
                    }
                    let n = used.entry(sku.clone()).or_default();
                    if *n < cap {
                        *n += 1;
                        self.holdings
                            .entry(d.clone())
                            .or_default()
                            .insert(sku.clone());
                    } else {
                        errors.entry(g).or_default().push(MemberError {
                            member: d.clone(),
                            sku: sku.clone(),
                        });
                    }
                }
            }
        }
        self.errors = errors;
    }

    /// Writes the current assignments and processing states back into a tenant.
    pub(crate) fn write_into(&self, tenant: &mut Tenant, now: Instant, delay: Duration) {
        for (i, g) in tenant.groups.iter_mut().enumerate() {
            g.assigned_licenses = self.groups[i].assigned.clone();
            g.license_processing_state = Some(LicenseProcessingState {
                state: self.state(i, now, delay).as_str().to_owned(),
            });
        }
        for s in &mut tenant.subscribed_skus {
            s.consumed_units = self.consumed(&s.sku_id);
        }
    }
}

/// Depth-first walk of nested groups, devices in member order, each device once, cycle-safe.
fn transitive_devices(
    tenant: &Tenant,
    index: &HashMap<String, usize>,
    devices: &HashSet<&str>,
    start: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen_devices = HashSet::new();
    let mut seen_groups = HashSet::new();
    let mut stack = vec![(start, 0usize)];
    seen_groups.insert(start);
    while let Some((g, pos)) = stack.pop() {
        let members = &tenant.groups[g].members;
        if pos >= members.len() {
            continue;
        }
        stack.push((g, pos + 1));
        let m = &members[pos];
        if devices.contains(m.as_str()) {
            if seen_devices.insert(m.clone()) {
                out.push(m.clone());
            }
        } else if let Some(&child) = index.get(m)
            && seen_groups.insert(child)
        {
            stack.push((child, 0));
        }
    }
    out
}
