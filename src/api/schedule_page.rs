//! The printable schedule of a participant without email: their next eight weeks, with
//! where, when, what to bring and whom to call, and their code for the door.

use chrono::{DateTime, Duration, Utc};

use super::error::ApiError;
use super::pages::{escape, page, say};
use super::AppState;
use crate::domain::participants::roster_name;
use crate::domain::rsvp::Answer;
use crate::domain::schedule::OccurrenceStatus;
use crate::mail::compose::{summary, Facts};
use crate::mail::context::Lang;
use crate::mail::written_time::written;
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
) -> Result<String, ApiError> {
    let lang = Lang::parse(&participant.language).unwrap_or(Lang::Fr);
    let until = now + Duration::weeks(WEEKS);
    let enrollments = state
        .store
        .enrollments(&EnrollmentFilter {
            participant_id: Some(participant.id),
            ..Default::default()
        })
        .await?;
    let mut lines = Vec::new();
    for placed in enrollments
        .iter()
        .filter(|p| p.enrollment.status == "confirmed")
    {
        let Some(facts) = Facts::load(&state.store, placed.enrollment.id).await? else {
            continue;
        };
        lines.extend(lines_of(state, &facts, lang, now, until).await?);
    }
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
    Ok(page(lang, &title, &body))
}

/// The enrollment's occurrences in the window, as table rows (cells already HTML).
async fn lines_of(
    state: &AppState,
    facts: &Facts,
    lang: Lang,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Line>, ApiError> {
    let Ok(from_key) = facts.enrollment.from_key.parse() else {
        return Ok(Vec::new());
    };
    let series = facts.enrollment.scope == "series";
    let tz = facts.place.schedule.timezone();
    let mut lines = Vec::new();
    for occurrence in facts
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
    {
        let declined = state
            .store
            .rsvp_answer(facts.enrollment.id, occurrence.key)
            .await?
            == Some(Answer::NotComing);
        if declined {
            continue;
        }
        let minutes = (occurrence.end - occurrence.start).num_minutes();
        let when = format!(
            "{}<br>{} min",
            escape(&written(
                lang,
                occurrence.start.with_timezone(&tz).naive_local()
            )),
            minutes
        );
        let mut what = escape(&summary(&facts.place.session.sport, &facts.place.club.name));
        what.push_str(&format!("<br>{}", escape(&facts.place.session.title)));
        if let Some(bring) = &facts.place.session.what_to_bring {
            what.push_str(&format!(
                "<br>{} {}",
                escape(&say(lang, "À apporter :", "Bring:")),
                escape(bring)
            ));
        }
        let place = facts
            .place
            .session
            .location
            .clone()
            .unwrap_or_else(|| facts.place.club.address_line());
        let contact: Vec<String> = [
            &facts.place.session.coach_name,
            &facts.place.club.contact_phone,
            &facts.place.club.contact_email,
        ]
        .into_iter()
        .flatten()
        .map(|c| escape(c))
        .collect();
        lines.push(Line {
            start: occurrence.start,
            cells: [when, what, escape(&place), contact.join("<br>")],
        });
    }
    Ok(lines)
}
