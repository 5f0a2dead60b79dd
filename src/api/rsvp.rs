//! RSVP links from emails. GET shows a page with a button and changes nothing (mail
//! scanners follow links); POST records the answer. A browser gets HTML pages, errors
//! included; any other client gets problem+json errors.

use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::web::{Data, Html, Path};
use poem::{handler, IntoResponse, Request, Response};

use super::error::ApiError;
use super::AppState;
use crate::domain::rsvp::{Answer, Rsvp};
use crate::domain::schedule::{Occurrence, OccurrenceStatus};
use crate::mail::compose::{summary, Facts};
use crate::mail::lang::Lang;
use crate::mail::written_time::written;
use crate::ops::rsvp::{answer_rsvp, RsvpOutcome};
use crate::printable::page::{escape, page, say};

/// What a valid, still usable link is about.
struct Context {
    rsvp: Rsvp,
    facts: Facts,
    occurrence: Occurrence,
    lang: Lang,
}

/// A refusal, said both ways.
struct Refusal {
    status: StatusCode,
    fr: &'static str,
    en: &'static str,
}

const INVALID: Refusal = Refusal {
    status: StatusCode::NOT_FOUND,
    fr: "Ce lien n'est pas valable.",
    en: "This link is not valid.",
};

async fn context(state: &AppState, token: &str, now: DateTime<Utc>) -> Result<Context, Refusal> {
    let rsvp = state.mailer.signer.verify(token).ok_or(INVALID)?;
    let facts = match Facts::load(&state.store, rsvp.enrollment_id).await {
        Ok(Some(facts)) => facts,
        Ok(None) | Err(_) => return Err(INVALID),
    };
    let lang = Lang::parse(&facts.participant.language).unwrap_or(Lang::Fr);
    if !facts.place.schedule.has_occurrence(rsvp.occurrence) {
        return Err(INVALID);
    }
    let change = facts
        .place
        .overrides
        .iter()
        .find(|o| o.key == rsvp.occurrence);
    let occurrence = facts.place.schedule.apply(rsvp.occurrence, 1, change);
    if facts.place.session.status == crate::domain::schedule::SessionStatus::Cancelled
        || occurrence.status == OccurrenceStatus::Cancelled
    {
        return Err(Refusal {
            status: StatusCode::GONE,
            fr: "Cette séance est annulée.",
            en: "This session is cancelled.",
        });
    }
    if now >= occurrence.start {
        return Err(Refusal {
            status: StatusCode::GONE,
            fr: "Cette séance a déjà commencé : ce lien ne sert plus.",
            en: "This session has already started: the link no longer works.",
        });
    }
    Ok(Context {
        rsvp,
        facts,
        occurrence,
        lang,
    })
}

fn wants_html(request: &Request) -> bool {
    request
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

fn refuse(request: &Request, refusal: Refusal, lang: Lang) -> Response {
    if wants_html(request) {
        let text = say(lang, refusal.fr, refusal.en);
        Html(page(lang, &text, &format!("<h1>{}</h1>", escape(&text))))
            .with_status(refusal.status)
            .into_response()
    } else {
        let error = match refusal.status {
            StatusCode::NOT_FOUND => ApiError::NotFound("RSVP link"),
            StatusCode::CONFLICT => ApiError::Conflict(refusal.en.to_owned()),
            _ => ApiError::Gone(refusal.en.to_owned()),
        };
        poem::Error::from(error).into_response()
    }
}

fn describe(c: &Context) -> String {
    let tz = c.facts.place.schedule.timezone();
    let when = written(c.lang, c.occurrence.start.with_timezone(&tz).naive_local());
    format!(
        "<p><strong>{}</strong><br>{}<br>{}</p>",
        escape(&summary(
            &c.facts.place.session.sport,
            &c.facts.place.club.name
        )),
        escape(&when),
        escape(&c.facts.address()),
    )
}

/// The page behind an RSVP link: what it is about and a button. Records nothing.
#[handler]
pub async fn show(request: &Request, state: Data<&AppState>, token: Path<String>) -> Response {
    let c = match context(&state, &token.0, crate::clock::now()).await {
        Ok(c) => c,
        Err(refusal) => return refuse(request, refusal, Lang::Fr),
    };
    let lang = c.lang;
    let (title, button) = match c.rsvp.answer {
        Answer::Coming => (
            say(lang, "Je viens", "I'm coming"),
            say(lang, "Oui, je viens", "Yes, I'm coming"),
        ),
        Answer::NotComing => (
            say(lang, "Je ne peux pas venir", "I can't come"),
            say(lang, "Je ne peux pas venir", "I can't come"),
        ),
    };
    let body = format!(
        "<h1>{}</h1>{}<form method=\"post\"><button type=\"submit\">{}</button></form>",
        escape(&title),
        describe(&c),
        escape(&button)
    );
    Html(page(lang, &title, &body)).into_response()
}

/// Records the answer the link carries.
#[handler]
pub async fn answer(request: &Request, state: Data<&AppState>, token: Path<String>) -> Response {
    let now = crate::clock::now();
    let c = match context(&state, &token.0, now).await {
        Ok(c) => c,
        Err(refusal) => return refuse(request, refusal, Lang::Fr),
    };
    let lang = c.lang;
    let outcome = answer_rsvp(
        &state.store,
        c.rsvp.enrollment_id,
        c.rsvp.occurrence,
        c.rsvp.answer,
        now,
    )
    .await;
    let text = match (outcome, c.rsvp.answer) {
        (Ok(RsvpOutcome::Recorded), Answer::Coming) => {
            say(lang, "C'est noté : à bientôt !", "Thank you: see you there!")
        }
        (Ok(RsvpOutcome::Recorded), Answer::NotComing) => say(
            lang,
            "C'est noté. Merci d'avoir prévenu : votre place ira à quelqu'un d'autre pour cette séance.",
            "Noted. Thank you for letting us know: your place goes to someone else for this session.",
        ),
        (Ok(RsvpOutcome::NoPlaceLeft), _) => {
            return refuse(
                request,
                Refusal {
                    status: StatusCode::CONFLICT,
                    fr: "Votre place pour cette séance a été donnée à quelqu'un d'autre. Parlez-en à la personne qui vous accompagne.",
                    en: "Your place for this session went to someone else. Please ask the person who helps you.",
                },
                lang,
            )
        }
        (Ok(RsvpOutcome::NotEnrolled), _) => {
            return refuse(
                request,
                Refusal {
                    status: StatusCode::CONFLICT,
                    fr: "Vous n'êtes plus inscrit·e à cette séance.",
                    en: "You no longer have a place in this session.",
                },
                lang,
            )
        }
        (Err(error), _) => {
            tracing::error!(%error, "rsvp: cannot record");
            return poem::Error::from(ApiError::from(error)).into_response();
        }
    };
    let body = format!("<h1>{}</h1>{}", escape(&text), describe(&c));
    Html(page(lang, &text, &body)).into_response()
}
