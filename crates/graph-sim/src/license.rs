//! Group-based licensing: one model per group, shared by every API view (v1.0 `assignLicense` /
//! `assignedLicenses` and beta `cloudLicensing` allotments and assignments), so an assignment
//! made through one view shows in all of them.
//!
//! Each group license is an [`Entry`]: the SKU with its disabled plans (what v1.0 shows), the
//! allotment (pool) it draws units from and the cloudLicensing assignment id (what beta shows).
//! Units are counted per pool, as Graph documents for allotments: a device consumes one unit of
//! each pool it is assigned from. With one pool per SKU (the default) that is exactly v1.0's
//! one unit per device and SKU.
//!
//! Processing is computed lazily from timestamps: a write records when it happened, and every
//! read first "settles" the groups whose processing delay has elapsed. No background task runs,
//! so the simulator's state is a pure function of the requests and the clock.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::clock::WallAnchor;
use crate::tenant::{Allotment, AssignedLicense, LicenseProcessingState, Tenant, TenantError};

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

/// One license of a group, seen from both APIs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// SKU and disabled plans (the v1.0 `assignedLicense`).
    pub(crate) license: AssignedLicense,
    /// Index of the allotment it draws from.
    pub(crate) pool: usize,
    /// The cloudLicensing assignment id.
    pub(crate) assignment_id: String,
}

/// What a read of a group's license properties shows (may be stale under read-after-write lag).
#[derive(Clone, Debug)]
pub(crate) struct LicenseView {
    pub(crate) entries: Vec<Entry>,
    pub(crate) state: ProcState,
}

#[derive(Clone, Debug)]
struct GroupLicensing {
    /// What the group is assigned now (what Graph returns right after the write).
    assigned: Vec<Entry>,
    /// What the devices are licensed from (catches up with `assigned` once processed).
    effective: Vec<Entry>,
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
    pub(crate) pool: usize,
}

/// Why a cloudLicensing write was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CloudWriteError {
    /// The group already holds an assignment of this allotment.
    AlreadyHolds(String),
    /// No assignment has this id.
    NoSuchAssignment,
}

/// The licensing state of the whole tenant.
#[derive(Clone, Debug)]
pub(crate) struct Licensing {
    groups: Vec<GroupLicensing>,
    index: HashMap<String, usize>,
    /// The allotments served (the tenant file's plus the defaults), in listing order.
    pools: Vec<Allotment>,
    /// For each group, its transitive device members in member order (membership is static).
    devices_of: Vec<Vec<String>>,
    /// Device -> pools it holds a unit of.
    holdings: BTreeMap<String, BTreeSet<usize>>,
    /// Units of each pool used by things other than group-licensed devices (users), constant.
    base_units: Vec<i64>,
    /// Units of each SKU used outside any listed allotment, constant.
    other_units: HashMap<String, i64>,
    /// Group index -> members that could not be licensed.
    errors: BTreeMap<usize, Vec<MemberError>>,
    /// (device, pool) -> when the device started waiting for a unit.
    waiting_since: BTreeMap<(String, usize), jiff::Timestamp>,
    /// Source of new assignment ids.
    next_assignment: u64,
    /// Turns simulator instants into `waitingSinceDateTime` timestamps.
    anchor: WallAnchor,
    /// Groups still processing a write or showing readers a stale view: the only ones
    /// [`Licensing::settle`] visits, so a request costs nothing per quiet group (settle runs
    /// on every request, and a 100,000-group tenant made it a fifth of the simulator's CPU).
    pending: BTreeSet<usize>,
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
        let pools = tenant.effective_allotments();
        let mut lic = Licensing {
            groups: Vec::new(),
            index,
            base_units: vec![0; pools.len()],
            pools,
            devices_of,
            anchor: WallAnchor::now(),
            holdings: BTreeMap::new(),
            other_units: HashMap::new(),
            errors: BTreeMap::new(),
            waiting_since: BTreeMap::new(),
            next_assignment: 0,
            pending: BTreeSet::new(),
        };
        for g in &tenant.groups {
            let mut entries = Vec::new();
            for l in &g.assigned_licenses {
                let pool = match &l.allotment_id {
                    Some(id) => lic
                        .pool_index(id)
                        .filter(|&p| lic.pools[p].sku_id == l.sku_id)
                        .ok_or_else(|| TenantError::UnknownAllotment {
                            group: g.id.clone(),
                            sku: l.sku_id.clone(),
                            allotment: id.clone(),
                        })?,
                    None => lic
                        .default_pool(&l.sku_id)
                        .ok_or_else(|| TenantError::UnknownSku {
                            group: g.id.clone(),
                            sku: l.sku_id.clone(),
                        })?,
                };
                let assignment_id = lic.new_assignment_id();
                entries.push(Entry {
                    // The allotment is the entry's `pool`; the served license is Graph's shape.
                    license: AssignedLicense {
                        allotment_id: None,
                        ..l.clone()
                    },
                    pool,
                    assignment_id,
                });
            }
            lic.groups.push(GroupLicensing {
                assigned: entries.clone(),
                effective: entries,
                changed_at: None,
                stale: None,
            });
        }
        lic.reallocate(lic.anchor.wall(Instant::now()));
        for (p, pool) in lic.pools.iter().enumerate() {
            let devices = lic.device_units(p);
            if pool.consumed_units < devices {
                return Err(TenantError::InconsistentUnits {
                    sku: pool.sku_id.clone(),
                    declared: pool.consumed_units,
                    computed: devices,
                });
            }
            lic.base_units[p] = pool.consumed_units - devices;
        }
        for s in &tenant.subscribed_skus {
            let pooled: i64 = lic
                .pools
                .iter()
                .filter(|a| a.sku_id == s.sku_id)
                .map(|a| a.consumed_units)
                .sum();
            lic.other_units
                .insert(s.sku_id.clone(), s.consumed_units - pooled);
        }
        Ok(lic)
    }

    fn new_assignment_id(&mut self) -> String {
        self.next_assignment += 1;
        // Opaque to clients, like Graph's; deterministic so runs are reproducible.
        format!("c10d0000-a55e-4000-8000-{:012x}", self.next_assignment)
    }

    /// The pool a v1.0 `assignLicense` of `sku` draws from: the SKU's first allotment assignable
    /// to groups or devices, else its first allotment.
    fn default_pool(&self, sku: &str) -> Option<usize> {
        let of_sku = || {
            self.pools
                .iter()
                .enumerate()
                .filter(|(_, a)| a.sku_id == sku)
        };
        of_sku()
            .find(|(_, a)| {
                a.assignable_to
                    .split(',')
                    .any(|t| matches!(t.trim(), "group" | "device"))
            })
            .or_else(|| of_sku().next())
            .map(|(i, _)| i)
    }

    pub(crate) fn group_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The allotments, in listing order.
    pub(crate) fn pools(&self) -> &[Allotment] {
        &self.pools
    }

    /// The index of the allotment with this id (ids compare case-insensitively).
    pub(crate) fn pool_index(&self, id: &str) -> Option<usize> {
        self.pools
            .iter()
            .position(|a| a.id.eq_ignore_ascii_case(id))
    }

    /// Completes the processing of every group whose delay has elapsed, then re-licenses.
    pub(crate) fn settle(&mut self, now: Instant, delay: Duration) {
        let mut changed = false;
        let groups = &mut self.groups;
        self.pending.retain(|&i| {
            let g = &mut groups[i];
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
            g.changed_at.is_some() || g.stale.is_some()
        });
        if changed {
            self.reallocate(self.anchor.wall(now));
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
        self.fresh_view(i, now, delay)
    }

    /// What the writer itself sees right after its write (never stale).
    pub(crate) fn fresh_view(&self, i: usize, now: Instant, delay: Duration) -> LicenseView {
        LicenseView {
            entries: self.groups[i].assigned.clone(),
            state: self.state(i, now, delay),
        }
    }

    /// Records a write to group `i`: processing restarts, and readers may see the old view for
    /// `lag`. With no delay the change is processed before anyone can observe it.
    fn touched(
        &mut self,
        i: usize,
        before: LicenseView,
        now: Instant,
        delay: Duration,
        lag: Option<Duration>,
    ) {
        let g = &mut self.groups[i];
        g.changed_at = Some(now);
        g.stale = lag.filter(|l| !l.is_zero()).map(|l| (before, now + l));
        self.pending.insert(i);
        self.settle(now, delay);
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
        self.groups[i]
            .assigned
            .retain(|e| !remove.contains(&e.license.sku_id));
        for a in add {
            match self.groups[i]
                .assigned
                .iter_mut()
                .find(|e| e.license.sku_id == a.sku_id)
            {
                Some(existing) => existing.license = a,
                None => {
                    // Validated by the caller: the SKU is in subscribedSkus, so it has a pool.
                    let Some(pool) = self.default_pool(&a.sku_id) else {
                        continue;
                    };
                    let assignment_id = self.new_assignment_id();
                    self.groups[i].assigned.push(Entry {
                        license: a,
                        pool,
                        assignment_id,
                    });
                }
            }
        }
        self.touched(i, before, now, delay, lag);
    }

    /// Creates a cloudLicensing assignment of pool `pool` to group `i`; returns it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_assignment(
        &mut self,
        i: usize,
        pool: usize,
        disabled_plans: Vec<String>,
        now: Instant,
        delay: Duration,
        lag: Option<Duration>,
    ) -> Result<Entry, CloudWriteError> {
        let sku = self.pools[pool].sku_id.clone();
        // One assignment per allotment and group. Two allotments of one SKU may both be
        // assigned to a group (a move between subscriptions holds both for a moment): Graph
        // counts "one license from each allotment to which they're directly or indirectly
        // assigned" (resources/cloudlicensing-assignment.md), which `reallocate` models.
        if self.groups[i].assigned.iter().any(|e| e.pool == pool) {
            return Err(CloudWriteError::AlreadyHolds(sku));
        }
        let before = self.view(i, now, delay);
        let entry = Entry {
            license: AssignedLicense {
                sku_id: sku,
                disabled_plans,
                allotment_id: None,
            },
            pool,
            assignment_id: self.new_assignment_id(),
        };
        self.groups[i].assigned.push(entry.clone());
        self.touched(i, before, now, delay, lag);
        Ok(entry)
    }

    /// Replaces the disabled service plans of a cloudLicensing assignment (a PATCH); returns the
    /// updated entry. Processing restarts for the group, as for any other license change.
    pub(crate) fn update_assignment(
        &mut self,
        id: &str,
        disabled_plans: Vec<String>,
        now: Instant,
        delay: Duration,
        lag: Option<Duration>,
    ) -> Result<Entry, CloudWriteError> {
        let (i, _) = self
            .find_assignment(id)
            .ok_or(CloudWriteError::NoSuchAssignment)?;
        let before = self.view(i, now, delay);
        let entry = self.groups[i]
            .assigned
            .iter_mut()
            .find(|e| e.assignment_id.eq_ignore_ascii_case(id))
            .ok_or(CloudWriteError::NoSuchAssignment)?;
        entry.license.disabled_plans = disabled_plans;
        let updated = entry.clone();
        self.touched(i, before, now, delay, lag);
        Ok(updated)
    }

    /// The group index and entry of an assignment id.
    pub(crate) fn find_assignment(&self, id: &str) -> Option<(usize, &Entry)> {
        self.groups.iter().enumerate().find_map(|(i, g)| {
            g.assigned
                .iter()
                .find(|e| e.assignment_id.eq_ignore_ascii_case(id))
                .map(|e| (i, e))
        })
    }

    /// Deletes a cloudLicensing assignment.
    pub(crate) fn delete_assignment(
        &mut self,
        id: &str,
        now: Instant,
        delay: Duration,
        lag: Option<Duration>,
    ) -> Result<(), CloudWriteError> {
        let (i, _) = self
            .find_assignment(id)
            .ok_or(CloudWriteError::NoSuchAssignment)?;
        let before = self.view(i, now, delay);
        self.groups[i]
            .assigned
            .retain(|e| !e.assignment_id.eq_ignore_ascii_case(id));
        self.touched(i, before, now, delay, lag);
        Ok(())
    }

    /// Every current assignment, in group then assignment order: (group index, entry).
    pub(crate) fn assignments(&self) -> impl Iterator<Item = (usize, &Entry)> + '_ {
        self.groups
            .iter()
            .enumerate()
            .flat_map(|(i, g)| g.assigned.iter().map(move |e| (i, e)))
    }

    /// Members of group `i` with license errors.
    pub(crate) fn errors_of(&self, i: usize) -> &[MemberError] {
        self.errors.get(&i).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Devices waiting for a unit of `pool`, each once, with when they started waiting.
    pub(crate) fn waiting(&self, pool: usize) -> Vec<(String, jiff::Timestamp)> {
        self.waiting_since
            .iter()
            .filter(|((_, p), _)| *p == pool)
            .map(|((d, _), t)| (d.clone(), *t))
            .collect()
    }

    /// The SKUs device `device` holds a unit of, each with the plans disabled by every license
    /// that grants it (a plan any granting group enables is usable).
    pub(crate) fn usage_rights(&self, device: &str) -> Vec<(String, BTreeSet<String>)> {
        let held = self.holdings.get(device).cloned().unwrap_or_default();
        let mut out: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
        for (g, gl) in self.groups.iter().enumerate() {
            if !self.devices_of[g].iter().any(|d| d == device) {
                continue;
            }
            for e in gl.effective.iter().filter(|e| held.contains(&e.pool)) {
                let disabled: BTreeSet<String> = e.license.disabled_plans.iter().cloned().collect();
                let slot = out.entry(e.license.sku_id.clone()).or_insert(None);
                *slot = Some(match slot.take() {
                    None => disabled,
                    Some(before) => before.intersection(&disabled).cloned().collect(),
                });
            }
        }
        out.into_iter()
            .map(|(sku, d)| (sku, d.unwrap_or_default()))
            .collect()
    }

    /// Units of `pool` consumed by group-licensed devices.
    fn device_units(&self, pool: usize) -> i64 {
        self.holdings.values().filter(|s| s.contains(&pool)).count() as i64
    }

    /// `consumedUnits` of an allotment now.
    pub(crate) fn pool_consumed(&self, pool: usize) -> i64 {
        self.base_units.get(pool).copied().unwrap_or(0) + self.device_units(pool)
    }

    /// `consumedUnits` of a SKU as Graph would report it now.
    pub(crate) fn consumed(&self, sku: &str) -> i64 {
        let pooled: i64 = (0..self.pools.len())
            .filter(|p| self.pools[*p].sku_id == sku)
            .map(|p| self.pool_consumed(p))
            .sum();
        self.other_units.get(sku).copied().unwrap_or(0) + pooled
    }

    /// Device -> SKUs it is licensed for.
    pub(crate) fn holdings(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.holdings
            .iter()
            .map(|(d, pools)| {
                let skus = pools
                    .iter()
                    .map(|p| self.pools[*p].sku_id.clone())
                    .collect();
                (d.clone(), skus)
            })
            .collect()
    }

    /// Recomputes which devices hold a unit of which pool. Devices keep units they still
    /// qualify for (Entra never moves a unit from one device to another), freed units go to
    /// waiting devices in group then member order, and whoever does not fit gets CountViolation
    /// and waits (`waitingMembers`).
    fn reallocate(&mut self, at: jiff::Timestamp) {
        let mut entitled: BTreeSet<(String, usize)> = BTreeSet::new();
        for (g, gl) in self.groups.iter().enumerate() {
            for e in &gl.effective {
                for d in &self.devices_of[g] {
                    entitled.insert((d.clone(), e.pool));
                }
            }
        }
        for (device, pools) in &mut self.holdings {
            pools.retain(|p| entitled.contains(&(device.clone(), *p)));
        }
        self.holdings.retain(|_, s| !s.is_empty());
        let mut used: HashMap<usize, i64> = HashMap::new();
        for pools in self.holdings.values() {
            for p in pools {
                *used.entry(*p).or_default() += 1;
            }
        }
        let mut errors: BTreeMap<usize, Vec<MemberError>> = BTreeMap::new();
        let mut waiting: BTreeSet<(String, usize)> = BTreeSet::new();
        for (g, gl) in self.groups.iter().enumerate() {
            for e in &gl.effective {
                let pool = e.pool;
                let cap = self.pools[pool].allotted_units - self.base_units[pool];
                for d in &self.devices_of[g] {
                    if self.holdings.get(d).is_some_and(|s| s.contains(&pool)) {
                        continue;
                    }
                    let n = used.entry(pool).or_default();
                    if *n < cap {
                        *n += 1;
                        self.holdings.entry(d.clone()).or_default().insert(pool);
                    } else {
                        errors.entry(g).or_default().push(MemberError {
                            member: d.clone(),
                            sku: e.license.sku_id.clone(),
                            pool,
                        });
                        waiting.insert((d.clone(), pool));
                    }
                }
            }
        }
        self.errors = errors;
        self.waiting_since.retain(|k, _| waiting.contains(k));
        for k in waiting {
            self.waiting_since.entry(k).or_insert(at);
        }
    }

    /// Writes the current assignments, processing states and unit counts back into a tenant.
    pub(crate) fn write_into(&self, tenant: &mut Tenant, now: Instant, delay: Duration) {
        // A tenant file with its own allotments says which one each license draws from, so the
        // written tenant loads back the same (and shows a move between allotments).
        let explicit = !tenant.allotments.is_empty();
        for (i, g) in tenant.groups.iter_mut().enumerate() {
            g.assigned_licenses = self.groups[i]
                .assigned
                .iter()
                .map(|e| AssignedLicense {
                    allotment_id: explicit.then(|| self.pools[e.pool].id.clone()),
                    ..e.license.clone()
                })
                .collect();
            g.license_processing_state = Some(LicenseProcessingState {
                state: self.state(i, now, delay).as_str().to_owned(),
            });
        }
        for s in &mut tenant.subscribed_skus {
            s.consumed_units = self.consumed(&s.sku_id);
        }
        for a in &mut tenant.allotments {
            if let Some(p) = self.pool_index(&a.id) {
                a.consumed_units = self.pool_consumed(p);
            }
        }
    }

    /// Adds `units` to the first pool of SKU `sku_id` (the admin bought more licenses) and
    /// licenses the devices waiting for one, as Graph does when units free up. Returns false
    /// when the tenant has no pool of that SKU.
    pub(crate) fn add_units(&mut self, sku_id: &str, units: i64) -> bool {
        let Some(pool) = self
            .pools
            .iter()
            .position(|p| p.sku_id.eq_ignore_ascii_case(sku_id))
        else {
            return false;
        };
        self.pools[pool].allotted_units += units;
        self.reallocate(jiff::Timestamp::now());
        true
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
