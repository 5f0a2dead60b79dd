//! The printable schedule of a participant without email: their next eight weeks, with
//! where, when, what to bring and whom to call, and their code for the door.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::page::{escape, page, say};
use crate::domain::participants::roster_name;
use crate::domain::schedule::{Occurrence, OccurrenceKey, OccurrenceStatus};
use crate::mail::compose::{summary, Facts};
use crate::mail::lang::Lang;
use crate::mail::written_time::written;
use crate::state::AppState;
use crate::store::enrollments::EnrollmentFilter;
use crate::store::participants::Participant;

const WEEKS: i64 = 8;

struct Line {
    start: DateTime<Utc>,
    cells: [String; 4],
}

pub async fn render(
    state: &AppState,
    participant: &Participant,
    now: DateTime<Utc>,
) -> Result<String, crate::store::StoreError> {
    let (lang, title, body) = render_body(state, participant, now).await?;
    Ok(page(lang, &title, &body))
}

/// The schedule's language, title and body (HTML, every value escaped), for a page
/// that has its own frame.
pub async fn render_body(
    state: &AppState,
    participant: &Participant,
    now: DateTime<Utc>,
) -> Result<(Lang, String, String), crate::store::StoreError> {
    let lang = Lang::parse(&participant.language).unwrap_or(Lang::Fr);
    let until = now + Duration::weeks(WEEKS);
    let enrollments = state
        .store
        .enrollments(&EnrollmentFilter {
            participant_id: Some(participant.id),
            ..Default::default()
        })
        .await?;
    let ids: Vec<Uuid> = enrollments
        .iter()
        .filter(|p| p.enrollment.status == crate::domain::places::EnrollmentStatus::Confirmed)
        .map(|p| p.enrollment.id)
        .collect();
    let facts = Facts::load_many(&state.store, &ids).await?;
    let expected: Vec<(&Facts, Occurrence)> = ids
        .iter()
        .filter_map(|id| facts.get(id))
        .flat_map(|f| {
            expected_occurrences(f, now, until)
                .into_iter()
                .map(move |o| (f, o))
        })
        .collect();
    let pairs: Vec<(Uuid, String)> = expected
        .iter()
        .map(|(f, o)| (f.enrollment.id, o.key.to_string()))
        .collect();
    let declined = state.store.declined_among(&pairs).await?;
    let mut lines: Vec<Line> = expected
        .iter()
        .filter(|(f, o)| !declined.contains(&(f.enrollment.id, o.key.to_string())))
        .map(|(f, o)| line(f, o, lang))
        .collect();
    lines.sort_by_key(|l| l.start);
    let (first, initial) = roster_name(&participant.first_name, &participant.last_name);
    let title = say(lang, "Mes séances de sport", "My sports sessions");
    let mut body = format!(
        "<h1>{}</h1><p>{} {} — {} <strong>{}</strong></p>",
        escape(&title),
        escape(&first),
        escape(&initial),
        escape(&say(lang, "code", "code")),
        escape(&participant.code)
    );
    if lines.is_empty() {
        body.push_str(&format!(
            "<p>{}</p>",
            escape(&say(
                lang,
                "Aucune séance prévue dans les huit prochaines semaines.",
                "No session planned in the next eight weeks."
            ))
        ));
    } else {
        let heads = [
            say(lang, "Quand", "When"),
            say(lang, "Quoi", "What"),
            say(lang, "Où", "Where"),
            say(lang, "Contact", "Contact"),
        ];
        body.push_str("<table><thead><tr>");
        for head in &heads {
            body.push_str(&format!("<th>{}</th>", escape(head)));
        }
        body.push_str("</tr></thead><tbody>");
        for line in &lines {
            body.push_str("<tr>");
            for cell in &line.cells {
                body.push_str(&format!("<td>{cell}</td>"));
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody></table>");
    }
    Ok((lang, title, body))
}

/// The enrollment's occurrences in the window that are not cancelled.
fn expected_occurrences(
    facts: &Facts,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Occurrence> {
    let Ok(from_key) = facts.enrollment.from_key.parse::<OccurrenceKey>() else {
        return Vec::new();
    };
    let series = facts.enrollment.scope == crate::domain::places::Scope::Series;
    facts
        .place
        .schedule
        .occurrences(1, &facts.place.overrides, now, until)
        .into_iter()
        .filter(|o| {
            if series {
                o.key >= from_key
            } else {
                o.key == from_key
            }
        })
        .filter(|o| o.status != OccurrenceStatus::Cancelled)
        .collect()
}

/// One occurrence as a table row (cells already HTML).
fn line(facts: &Facts, occurrence: &Occurrence, lang: Lang) -> Line {
    let tz = facts.place.schedule.timezone();
    let minutes = (occurrence.end - occurrence.start).num_minutes();
    let when = format!(
        "{}<br>{} min",
        escape(&written(
            lang,
            occurrence.start.with_timezone(&tz).naive_local()
        )),
        minutes
    );
    let session = &facts.place.session;
    let club = &facts.place.club;
    let mut what = escape(&summary(&session.sport, &club.name));
    what.push_str(&format!("<br>{}", escape(&session.title)));
    if let Some(bring) = &session.what_to_bring {
        what.push_str(&format!(
            "<br>{} {}",
            escape(&say(lang, "À apporter :", "Bring:")),
            escape(bring)
        ));
    }
    let contact: Vec<String> = [
        &session.coach_name,
        &club.contact_phone,
        &club.contact_email,
    ]
    .into_iter()
    .flatten()
    .map(|c| escape(c))
    .collect();
    Line {
        start: occurrence.start,
        cells: [when, what, escape(&facts.address()), contact.join("<br>")],
    }
}
