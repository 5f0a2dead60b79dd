//! The impact figures in the caller's scope: programme staff everything, a club
//! manager their club's occurrences, a social worker their structure's participants.
//! The API's `/stats/encounters` and the `/app/stats` page read them here.

use super::{OpError, OpResult};
use crate::domain::access::{Caller, Role};
use crate::domain::stats::{csv_record, order, Figures, GroupBy, Period, CSV_HEADER};
use crate::store::stats::StatsScope;
use crate::store::Store;

/// The figures of a period: by group (labelled, in the grouping's order) and in total.
#[derive(Debug, Clone)]
pub struct Encounters {
    pub period: Period,
    pub by: GroupBy,
    pub groups: Vec<Figures>,
    pub total: Figures,
}

pub fn scope_of(caller: &Caller) -> OpResult<StatsScope> {
    let missing = || OpError::Conflict("this account has no club or structure".into());
    Ok(match caller.role {
        Role::Admin => StatsScope::All,
        Role::ClubManager => StatsScope::Club(caller.club_id.ok_or_else(missing)?),
        Role::SocialWorker => StatsScope::Structure(caller.structure_id.ok_or_else(missing)?),
    })
}

pub async fn encounters(
    store: &Store,
    caller: &Caller,
    period: Period,
    by: GroupBy,
) -> OpResult<Encounters> {
    let scope = scope_of(caller)?;
    let (mut groups, mut total) = store.encounter_figures(period, by, scope).await?;
    let labels = store.group_labels(by).await?;
    for group in &mut groups {
        group.label = labels
            .get(&group.key)
            .cloned()
            .unwrap_or_else(|| group.key.clone());
    }
    order(&mut groups, by);
    total.label = "Total".into();
    Ok(Encounters {
        period,
        by,
        groups,
        total,
    })
}

impl Encounters {
    /// One row per group, then the total.
    pub fn csv(&self) -> Result<String, String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let failed = |e: csv::Error| format!("CSV: {e}");
        writer.write_record(CSV_HEADER).map_err(failed)?;
        for figures in self.groups.iter().chain(std::iter::once(&self.total)) {
            writer.write_record(csv_record(figures)).map_err(failed)?;
        }
        let bytes = writer.into_inner().map_err(|e| format!("CSV: {e}"))?;
        String::from_utf8(bytes).map_err(|e| format!("CSV: {e}"))
    }
}
