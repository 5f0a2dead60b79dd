//! The people a social worker follows: list and search, register, change, their page
//! (enrollments, coming occurrences, attendance, calendar link), export and erase.

use chrono::Duration;
use minijinja::{context, Value};
use poem::http::{header, StatusCode};
use poem::web::{Data, Path};
use poem::{handler, Request, Response};
use uuid::Uuid;

use super::forms::{Errors, Fields};
use super::home::{local, ComingLine};
use super::session::{Posted, SignedIn};
use super::view::{page, see_other, value, Frame};
use super::{PageError, PageResult};
use crate::domain::access::Role;
use crate::domain::attendance::absence_streak;
use crate::domain::participants::SITUATIONS;
use crate::domain::places::{EnrollmentStatus, Scope};
use crate::domain::{cursor, FieldError};
use crate::ops::access::{followed, readable_scope};
use crate::ops::participants::{
    create_participant, erase_participant, rotate_feed_token, update_participant, NewParticipant,
    ParticipantChanges,
};
use crate::state::AppState;
use crate::store::enrollments::EnrollmentFilter;
use crate::store::pages::Whose;
use crate::store::participants::{Participant, ParticipantFilter};

const PAGE_SIZE: i64 = 50;
const COMING_WEEKS: i64 = 8;

fn id_of(text: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(text).map_err(|_| PageError::NotFound)
}

/// Only programme staff and social workers follow people.
fn may_follow(me: &SignedIn) -> Result<(), PageError> {
    match me.user.role {
        Role::ClubManager => Err(PageError::Forbidden),
        _ => Ok(()),
    }
}

#[handler]
pub async fn list(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    may_follow(&me)?;
    let query = Fields::query(request);
    let q = query.opt("q");
    let after = query.opt("after").and_then(|a| cursor::decode(&a).ok());
    let mut people = state
        .store
        .participants(&ParticipantFilter {
            structure_id: readable_scope(&me.caller)?,
            name: q.clone(),
            after,
            limit: PAGE_SIZE + 1,
        })
        .await?;
    let next = if people.len() as i64 > PAGE_SIZE {
        people.truncate(PAGE_SIZE as usize);
        people.last().map(|p| {
            let mut next = query.clone();
            next.set(
                "after",
                cursor::encode(&(&p.last_name, &p.first_name, p.id)),
            );
            format!(
                "/app/participants?{}",
                serde_urlencoded::to_string(&next).unwrap_or_default()
            )
        })
    } else {
        None
    };
    let rows: Vec<Value> = people
        .iter()
        .map(|p| {
            context! {
                id => p.id.to_string(),
                name => format!("{} {}", p.first_name, p.last_name),
                code => p.code.clone(),
                contact => p.email.is_some() || p.phone.is_some(),
            }
        })
        .collect();
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "participants.html",
        context! { q => q, people => rows, next_url => next },
    ))
}

/// The values of a participant form: what was typed, or the person's current details.
fn form_of(p: &Participant) -> Fields {
    let mut f = Fields::default();
    f.set("first_name", &p.first_name);
    f.set("last_name", &p.last_name);
    f.set("email", p.email.clone().unwrap_or_default());
    f.set("phone", p.phone.clone().unwrap_or_default());
    f.set("language", &p.language);
    f.set(
        "birth_year",
        p.birth_year.map(|y| y.to_string()).unwrap_or_default(),
    );
    f.set("situation", &p.situation);
    f.set(
        "notify_referrer",
        if p.notify_referrer { "true" } else { "" },
    );
    f.set("notes", p.notes.clone().unwrap_or_default());
    f
}

async fn form_page(
    state: &AppState,
    me: &SignedIn,
    request: &Request,
    status: StatusCode,
    existing: Option<&Participant>,
    fields: &Fields,
    errors: &Errors,
) -> PageResult {
    let structures: Vec<Value> = if me.user.role == Role::Admin && existing.is_none() {
        state
            .store
            .structures()
            .await?
            .into_iter()
            .map(|s| context! { id => s.id.to_string(), name => s.name })
            .collect()
    } else {
        Vec::new()
    };
    let frame = Frame::of(me, request);
    Ok(page(
        &frame,
        status,
        "participant_form.html",
        context! {
            f => value(fields),
            errors => value(errors),
            situations => value(SITUATIONS),
            structures => structures,
            participant => existing.map(|p| context! {
                id => p.id.to_string(),
                name => format!("{} {}", p.first_name, p.last_name),
            }),
        },
    ))
}

#[handler]
pub async fn new_form(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    may_follow(&me)?;
    let mut fields = Fields::default();
    fields.set("language", "fr");
    form_page(
        &state,
        &me,
        request,
        StatusCode::OK,
        None,
        &fields,
        &Errors::default(),
    )
    .await
}

/// A year typed in a form: blank is none, anything else must be a number.
fn year(fields: &Fields) -> Result<Option<i32>, FieldError> {
    match fields.opt("birth_year") {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| FieldError::new("birth_year", format!("{text:?} is not a year"))),
    }
}

/// The structure programme staff chose (social workers have their own).
fn structure_of(fields: &Fields) -> Result<Option<Uuid>, FieldError> {
    fields
        .opt("structure_id")
        .map(|text| {
            Uuid::parse_str(&text)
                .map_err(|_| FieldError::new("structure_id", "choose a structure"))
        })
        .transpose()
}

#[handler]
pub async fn create(request: &Request, state: Data<&AppState>, form: Posted) -> PageResult {
    let Posted { me, fields } = form;
    may_follow(&me)?;
    let outcome = match (year(&fields), structure_of(&fields)) {
        (Err(error), _) | (_, Err(error)) => Err(crate::ops::OpError::Invalid(error)),
        (Ok(birth_year), Ok(structure_id)) => {
            create_participant(
                &state.store,
                &me.caller,
                NewParticipant {
                    first_name: fields.get("first_name").to_owned(),
                    last_name: fields.get("last_name").to_owned(),
                    email: fields.opt("email"),
                    phone: fields.opt("phone"),
                    language: fields.opt("language"),
                    birth_year,
                    situation: fields.get("situation").to_owned(),
                    notify_referrer: Some(fields.ticked("notify_referrer")),
                    consent: fields.ticked("consent"),
                    notes: fields.opt("notes"),
                    structure_id,
                },
            )
            .await
        }
    };
    match outcome {
        Ok(participant) => Ok(see_other(&format!(
            "/app/participants/{}?created=1",
            participant.id
        ))),
        Err(error) => {
            let errors = Errors::from_op(error)?;
            form_page(
                &state,
                &me,
                request,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &fields,
                &errors,
            )
            .await
        }
    }
}

#[handler]
pub async fn edit_form(
    request: &Request,
    state: Data<&AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    may_follow(&me)?;
    let participant = followed(&state.store, &me.caller, id_of(&id)?).await?;
    form_page(
        &state,
        &me,
        request,
        StatusCode::OK,
        Some(&participant),
        &form_of(&participant),
        &Errors::default(),
    )
    .await
}

/// A blank optional field clears it.
fn optional(fields: &Fields, name: &str) -> Option<Option<String>> {
    Some(fields.opt(name))
}

#[handler]
pub async fn update(
    request: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    form: Posted,
) -> PageResult {
    let Posted { me, fields } = form;
    may_follow(&me)?;
    let participant = followed(&state.store, &me.caller, id_of(&id)?).await?;
    let outcome = match year(&fields) {
        Err(error) => Err(crate::ops::OpError::Invalid(error)),
        Ok(birth_year) => {
            update_participant(
                &state.store,
                &me.caller,
                participant.id,
                ParticipantChanges {
                    first_name: Some(fields.get("first_name").to_owned()),
                    last_name: Some(fields.get("last_name").to_owned()),
                    email: optional(&fields, "email"),
                    phone: optional(&fields, "phone"),
                    language: Some(fields.get("language").to_owned()),
                    birth_year: Some(birth_year),
                    situation: Some(fields.get("situation").to_owned()),
                    notify_referrer: Some(fields.ticked("notify_referrer")),
                    notes: optional(&fields, "notes"),
                },
            )
            .await
        }
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!(
            "/app/participants/{}?saved=1",
            participant.id
        ))),
        Err(error) => {
            let errors = Errors::from_op(error)?;
            form_page(
                &state,
                &me,
                request,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&participant),
                &fields,
                &errors,
            )
            .await
        }
    }
}

#[handler]
pub async fn show(
    request: &Request,
    state: Data<&AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    may_follow(&me)?;
    let p = followed(&state.store, &me.caller, id_of(&id)?).await?;
    let lang = me.lang;
    let now = crate::clock::now();
    let query = Fields::query(request);

    let placed = state
        .store
        .enrollments(&EnrollmentFilter {
            participant_id: Some(p.id),
            ..Default::default()
        })
        .await?;
    let mut enrollments = Vec::new();
    let mut just_enrolled = None;
    // A person enrolled twice in one session (a trial, then the series) reads it once.
    let mut sessions = std::collections::HashMap::new();
    for e in placed.iter().rev() {
        let id = e.enrollment.session_id;
        if let std::collections::hash_map::Entry::Vacant(slot) = sessions.entry(id) {
            slot.insert(state.store.session(id).await?);
        }
        let session = &sessions[&id];
        let (from_day, _) = match e.enrollment.from() {
            Some(key) => local(lang, key.original_start(), &session.timezone),
            None => (String::new(), String::new()),
        };
        let line = context! {
            id => e.enrollment.id.to_string(),
            session_id => session.id.to_string(),
            title => session.title.clone(),
            sport => session.sport.clone(),
            series => e.enrollment.scope == Scope::Series,
            from_day => from_day,
            status => e.enrollment.status.as_str(),
            position => e.waitlist_position,
            active => e.enrollment.status != EnrollmentStatus::Cancelled,
        };
        if query.get("enrolled") == e.enrollment.id.to_string() {
            just_enrolled = Some(line.clone());
        }
        enrollments.push(line);
    }

    let coming: Vec<ComingLine> = state
        .store
        .coming(
            Whose::Participant(p.id),
            now - Duration::hours(2),
            now + Duration::weeks(COMING_WEEKS),
            100,
        )
        .await?
        .into_iter()
        .map(|row| ComingLine::of(lang, row))
        .collect();

    let history = state.store.attendance_history(p.id).await?;
    let marks: Vec<_> = history.iter().map(|h| h.status).collect();
    let run = absence_streak(&marks);
    let present = marks
        .iter()
        .filter(|m| **m == crate::domain::attendance::Mark::Present)
        .count();
    let records: Vec<Value> = history
        .iter()
        .take(30)
        .map(|h| {
            let (day, time) = local(lang, h.start_at, &h.timezone);
            context! {
                day => day, time => time, title => h.session_title.clone(),
                club => h.club_name.clone(), mark => h.status.as_str(),
            }
        })
        .collect();

    let feed = state.store.feed_token(p.id).await?;
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "participant.html",
        context! {
            p => context! {
                id => p.id.to_string(),
                name => format!("{} {}", p.first_name, p.last_name),
                code => p.code.clone(),
                email => p.email.clone(),
                phone => p.phone.clone(),
                language => p.language.clone(),
                situation => p.situation.clone(),
                notify_referrer => p.notify_referrer,
                birth_year => p.birth_year,
                notes => p.notes.clone(),
                consent_day => local(lang, p.consent_at, "Europe/Paris").0,
            },
            just_enrolled => just_enrolled,
            created => query.get("created") == "1",
            saved => query.get("saved") == "1",
            renewed => query.get("renewed") == "1",
            cancelled => query.get("cancelled") == "1",
            enrollments => enrollments,
            coming => value(&coming),
            records => records,
            run => run,
            total => marks.len(),
            present => present,
            feed_url => state.mailer.feed_url(&feed),
        },
    ))
}

#[handler]
pub async fn erase_form(
    request: &Request,
    state: Data<&AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    may_follow(&me)?;
    let p = followed(&state.store, &me.caller, id_of(&id)?).await?;
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "participant_erase.html",
        context! { p => context! {
            id => p.id.to_string(),
            name => format!("{} {}", p.first_name, p.last_name),
            code => p.code,
        } },
    ))
}

#[handler]
pub async fn erase(state: Data<&AppState>, Path(id): Path<String>, form: Posted) -> PageResult {
    may_follow(&form.me)?;
    erase_participant(&state.store, &form.me.caller, id_of(&id)?).await?;
    Ok(see_other("/app/participants?erased=1"))
}

#[handler]
pub async fn renew_feed(
    state: Data<&AppState>,
    Path(id): Path<String>,
    form: Posted,
) -> PageResult {
    may_follow(&form.me)?;
    let id = id_of(&id)?;
    rotate_feed_token(&state.store, &form.me.caller, id).await?;
    Ok(see_other(&format!(
        "/app/participants/{id}?renewed=1#calendar"
    )))
}

#[handler]
pub async fn cancel_enrollment(
    state: Data<&AppState>,
    Path(id): Path<String>,
    form: Posted,
) -> PageResult {
    may_follow(&form.me)?;
    let placed =
        crate::ops::enrollments::cancel_enrollment(&state.store, &form.me.caller, id_of(&id)?)
            .await?;
    Ok(see_other(&format!(
        "/app/participants/{}?cancelled=1#enrollments",
        placed.enrollment.participant_id
    )))
}

/// Everything held about the person, as a JSON file (the right of access).
#[handler]
pub async fn export(
    state: Data<&AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    may_follow(&me)?;
    let p = followed(&state.store, &me.caller, id_of(&id)?).await?;
    let enrollments = state
        .store
        .enrollments(&EnrollmentFilter {
            participant_id: Some(p.id),
            ..Default::default()
        })
        .await?;
    let history = state.store.attendance_history(p.id).await?;
    let body = serde_json::json!({
        "participant": {
            "id": p.id, "code": p.code, "first_name": p.first_name, "last_name": p.last_name,
            "email": p.email, "phone": p.phone, "language": p.language,
            "birth_year": p.birth_year, "situation": p.situation,
            "notify_referrer": p.notify_referrer, "consent_at": p.consent_at,
            "notes": p.notes, "created_at": p.created_at, "updated_at": p.updated_at,
        },
        "enrollments": enrollments.iter().map(|e| serde_json::json!({
            "id": e.enrollment.id, "session_id": e.enrollment.session_id,
            "scope": e.enrollment.scope.as_str(), "from_key": e.enrollment.from_key,
            "occurrence_key": e.enrollment.occurrence_key,
            "status": e.enrollment.status.as_str(), "waitlist_position": e.waitlist_position,
            "created_at": e.enrollment.created_at, "cancelled_at": e.enrollment.cancelled_at,
        })).collect::<Vec<_>>(),
        "attendance": history.iter().map(|h| serde_json::json!({
            "session_id": h.session_id, "occurrence_key": h.occurrence_key,
            "start": h.start_at, "session": h.session_title, "club": h.club_name,
            "status": h.status.as_str(), "recorded_at": h.recorded_at,
        })).collect::<Vec<_>>(),
        "exported_at": crate::clock::now(),
    });
    Ok(Response::builder()
        .content_type("application/json")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"participant-{}.json\"", p.code),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .body(serde_json::to_string_pretty(&body).unwrap_or_default()))
}

/// The printable schedule of the next eight weeks, for someone without email: in the
/// person's language, inside the pages' frame (which printing leaves out).
#[handler]
pub async fn schedule(
    request: &Request,
    state: Data<&AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    may_follow(&me)?;
    let p = followed(&state.store, &me.caller, id_of(&id)?).await?;
    let (lang, title, body) =
        crate::printable::schedule::render_body(&state, &p, crate::clock::now()).await?;
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "schedule.html",
        context! {
            participant_id => p.id.to_string(),
            doc_lang => lang.as_str(),
            title => title,
            body => Value::from_safe_string(body),
        },
    ))
}
