//! Capacity arithmetic: for every pool a plan takes units from or returns units to, what is
//! left afterwards.

use std::collections::BTreeMap;

use devlic_model::{Action, ActionKind, AllotmentRef, Backend, CapacityLine, LiveState, SkuId};

use crate::allotments;
use crate::resolve::sku_ref_of;

/// The pool an action's added subscription takes units from: the SKU, and on backends whose
/// pool is an allotment, the allotment.
pub(crate) fn pool_key(a: &Action) -> (SkuId, Option<String>) {
    (a.sku.sku_id, a.allotment.as_ref().map(|x| x.id.clone()))
}

/// Capacity arithmetic per device SKU the plan licenses or frees, sorted by part number.
///
/// On cloud-licensing the pool is the allotment: devices newly licensed count against the
/// action's allotment, devices freed against the allotment the group's current assignment comes
/// from, and the line uses that allotment's `allottedUnits` and `consumedUnits`. Moves whose
/// allotment is unknown fall back to the SKU's `subscribedSku` numbers.
pub(crate) fn capacity(
    live: &LiveState,
    backend: Backend,
    actions: &[Action],
) -> Vec<CapacityLine> {
    let allotments = backend.uses_allotments();
    let source = |a: &Action, sku: SkuId| -> Option<String> {
        if allotments {
            allotments::source_of(live, a.group.id, sku).map(|x| x.id.clone())
        } else {
            None
        }
    };
    let mut moves: BTreeMap<(SkuId, Option<String>), (u64, u64)> = BTreeMap::new();
    for a in actions {
        let n = a.devices.unwrap_or(0);
        match a.kind {
            ActionKind::Assign => moves.entry(pool_key(a)).or_default().0 += n,
            ActionKind::Swap => {
                moves.entry(pool_key(a)).or_default().0 += n;
                if let Some(from) = &a.from_sku {
                    let key = (from.sku_id, source(a, from.sku_id));
                    moves.entry(key).or_default().1 += n;
                }
            }
            ActionKind::Revoke => {
                let key = (a.sku.sku_id, source(a, a.sku.sku_id));
                moves.entry(key).or_default().1 += n;
            }
            ActionKind::Move => {
                // During the move each device holds a unit of both allotments (Graph counts one
                // unit per allotment a device is assigned from); afterwards only the new one.
                moves.entry(pool_key(a)).or_default().0 += n;
                let from = a.from_allotment.as_ref().map(|x| x.id.clone());
                moves.entry((a.sku.sku_id, from)).or_default().1 += n;
            }
            ActionKind::Update => {}
        }
    }
    let mut lines: Vec<CapacityLine> = moves
        .into_iter()
        .filter(|(_, (newly, freed))| *newly > 0 || *freed > 0)
        .map(|((id, allotment), (newly, freed))| {
            let pool = allotment
                .as_ref()
                .and_then(|x| live.allotments.iter().find(|a| &a.id == x));
            let (prepaid, consumed) = match pool {
                Some(p) => (p.allotted_units, p.consumed_units),
                None => live
                    .sku(id)
                    .map(|s| (s.prepaid_units.enabled, s.consumed_units))
                    .unwrap_or((0, 0)),
            };
            let available_after =
                to_i64(prepaid) - to_i64(consumed) - to_i64(newly) + to_i64(freed);
            CapacityLine {
                sku: sku_ref_of(live, id),
                prepaid_enabled: prepaid,
                consumed,
                newly_licensed: newly,
                freed,
                available_after,
                allotment: pool.map(AllotmentRef::from),
            }
        })
        .collect();
    lines.sort_by_cached_key(|l| {
        (
            l.sku.sku_part_number.to_lowercase(),
            l.sku.sku_id,
            l.allotment.as_ref().map(|a| a.id.clone()),
        )
    });
    lines
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
