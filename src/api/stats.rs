//! The programme's impact figure: encounters, by club, sport, month, situation or
//! structure, each role seeing its own part.

use chrono::NaiveDate;
use poem::web::Data;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::auth::Auth;
use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::domain::stats::{Figures, GroupBy, Period};
use crate::ops;

/// Figures of a period, by group and in total.
#[derive(Object)]
pub struct EncounterStats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: String,
    pub groups: Vec<GroupFigures>,
    /// The whole period (unique participants counted once across groups).
    pub total: GroupFigures,
}

#[derive(Object)]
pub struct GroupFigures {
    /// Club or structure id, sport, month (`2026-03`), situation; `total` for the whole.
    pub key: String,
    pub label: String,
    /// Participants present plus walk-ins.
    pub encounters: i64,
    pub participant_encounters: i64,
    pub walk_ins: i64,
    /// Distinct participants present at least once (walk-ins are anonymous).
    pub unique_participants: i64,
    /// Occurrences whose attendance was recorded.
    pub occurrences_held: i64,
    /// Records of participants who held a confirmed place, and those of them present.
    pub confirmed_places: i64,
    pub attended_places: i64,
    /// attended_places / confirmed_places; none without confirmed places.
    pub attendance_rate: Option<f64>,
    /// Participants whose first encounter in the programme falls in the period here.
    pub first_encounters: i64,
}

impl From<Figures> for GroupFigures {
    fn from(f: Figures) -> Self {
        Self {
            encounters: f.encounters(),
            attendance_rate: f.attendance_rate(),
            key: f.key,
            label: f.label,
            participant_encounters: f.participant_encounters,
            walk_ins: f.walk_ins,
            unique_participants: f.unique_participants,
            occurrences_held: f.occurrences_held,
            confirmed_places: f.confirmed_places,
            attended_places: f.attended_places,
            first_encounters: f.first_encounters,
        }
    }
}

/// JSON, or CSV (one row per group, then the total) when `Accept` asks for `text/csv`:
/// one 200 answer documented with both media types.
pub enum StatsAnswer {
    Json(Json<EncounterStats>),
    Csv(PlainText<String>),
}

#[derive(ApiResponse)]
enum JsonAnswer {
    /// The figures, by group and in total; CSV when `Accept` asks for `text/csv`.
    #[oai(status = 200)]
    Ok(Json<EncounterStats>),
}

#[derive(ApiResponse)]
enum CsvAnswer {
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(PlainText<String>),
}

impl poem::IntoResponse for StatsAnswer {
    fn into_response(self) -> poem::Response {
        match self {
            Self::Json(json) => JsonAnswer::Ok(json).into_response(),
            Self::Csv(text) => CsvAnswer::Ok(text).into_response(),
        }
    }
}

impl ApiResponse for StatsAnswer {
    fn meta() -> MetaResponses {
        let mut meta = JsonAnswer::meta();
        let csv = CsvAnswer::meta()
            .responses
            .into_iter()
            .flat_map(|r| r.content);
        if let Some(ok) = meta.responses.first_mut() {
            ok.content.extend(csv);
        }
        meta
    }

    fn register(registry: &mut Registry) {
        JsonAnswer::register(registry);
        CsvAnswer::register(registry);
    }
}

pub struct StatsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Stats")]
impl StatsApi {
    /// Encounters over a period of local dates (both ends included; default: this year
    /// so far). Admin sees everything, a club manager their club, a social worker the
    /// participants of their structure.
    #[oai(
        path = "/stats/encounters",
        method = "get",
        operation_id = "encounter_stats"
    )]
    async fn encounters(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        from: Query<Option<String>>,
        to: Query<Option<String>>,
        group_by: Query<Option<String>>,
        #[oai(name = "Accept")] accept: Header<Option<String>>,
    ) -> Result<StatsAnswer, ApiError> {
        // The programme works in French local time; a date is a Paris date.
        let today = crate::clock::now()
            .with_timezone(&chrono_tz::Europe::Paris)
            .date_naive();
        let period = Period::parse(from.0.as_deref(), to.0.as_deref(), today)?;
        let by = GroupBy::parse(group_by.0.as_deref())?;
        let found = ops::stats::encounters(&state.store, &auth.0, period, by).await?;
        let wants_csv = accept
            .0
            .as_deref()
            .is_some_and(|a| a.to_ascii_lowercase().contains("text/csv"));
        if wants_csv {
            let text = found.csv().map_err(ApiError::Internal)?;
            return Ok(StatsAnswer::Csv(PlainText(text)));
        }
        Ok(StatsAnswer::Json(Json(EncounterStats {
            from: found.period.from,
            to: found.period.to,
            group_by: found.by.as_str().to_owned(),
            groups: found.groups.into_iter().map(Into::into).collect(),
            total: found.total.into(),
        })))
    }
}
