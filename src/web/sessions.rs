//! A club's sessions seen from the club: publish one, change it, cancel it. The
//! recurrence is a form (weekly days, every N weeks, the nth weekday or a day of the
//! month, an end, dates without a session) that writes the RRULE and EXDATEs; the raw
//! rule stays editable, and a rule the form cannot draw is kept as text. "Preview"
//! shows the next ten occurrences from the same code as the API, and a save that would
//! tell enrolled people first says how many.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use minijinja::{context, Value};
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Request};
use uuid::Uuid;

use super::forms::{Errors, Fields};
use super::session::{Posted, SignedIn};
use super::view::{page, see_other, value, Frame, Lang};
use super::words;
use super::{PageError, PageResult};
use crate::domain::recurrence::{
    days_of, exdates_at, first_on_or_after, parse_dates, Ending, Recurrence, Repeat,
};
use crate::domain::schedule::{OccurrenceStatus, SessionStatus};
use crate::domain::FieldError;
use crate::mail::written_time::{day_name, written_clock, written_day};
use crate::ops::access::managed_session;
use crate::ops::sessions::{
    cancel_session, create_session, preview_new_session, preview_session_update, update_session,
    Preview, Publication, SessionChanges, SessionFields,
};
use crate::ops::OpError;
use crate::state::AppState;
use crate::store::sessions::Session;

/// Occurrences the preview lists.
const PREVIEW_COUNT: usize = 10;
/// How far ahead the preview looks for them.
const PREVIEW_YEARS: i64 = 6;

/// Weekday checkboxes, Monday first: (field suffix, day).
const DAYS: [(&str, Weekday); 7] = [
    ("mo", Weekday::Mon),
    ("tu", Weekday::Tue),
    ("we", Weekday::Wed),
    ("th", Weekday::Thu),
    ("fr", Weekday::Fri),
    ("sa", Weekday::Sat),
    ("su", Weekday::Sun),
];

/// A session's schedule in words: "Toutes les 2 semaines le samedi, jusqu'au …".
pub fn rhythm_text(lang: Lang, r: &Recurrence) -> String {
    let w = |key: &str| words::get(lang, key).unwrap_or(key).to_owned();
    let fill = |key: &str, pairs: &[(&str, String)]| {
        pairs.iter().fold(w(key), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
    };
    let days = |days: &[Weekday]| {
        let names: Vec<&str> = days.iter().map(|d| day_name(lang, *d)).collect();
        names.join(", ")
    };
    let what = match &r.repeat {
        Repeat::Once => w("rhythm_once"),
        Repeat::Weekly {
            interval: 1,
            days: d,
        } => fill("rhythm_weekly", &[("days", days(d))]),
        Repeat::Weekly { interval, days: d } => fill(
            "rhythm_weeks",
            &[("n", interval.to_string()), ("days", days(d))],
        ),
        Repeat::MonthlyWeekday {
            interval,
            nth,
            weekday,
        } => fill(
            if *interval == 1 {
                "rhythm_month_weekday"
            } else {
                "rhythm_months_weekday"
            },
            &[
                ("n", interval.to_string()),
                ("nth", w(&format!("nth_{nth}"))),
                ("day", day_name(lang, *weekday).to_owned()),
            ],
        ),
        Repeat::MonthlyDay { interval, day } => fill(
            if *interval == 1 {
                "rhythm_month_day"
            } else {
                "rhythm_months_day"
            },
            &[("n", interval.to_string()), ("day", day.to_string())],
        ),
    };
    match (&r.repeat, &r.ending) {
        (Repeat::Once, _) | (_, Ending::Never) => what,
        (_, Ending::On(date)) => fill(
            "rhythm_until",
            &[("what", what), ("date", written_day(lang, *date))],
        ),
        (_, Ending::After(n)) => fill("rhythm_times", &[("what", what), ("n", n.to_string())]),
    }
}

/// What the session list shows of a rule.
pub fn rhythm_values(lang: Lang, session: &Session) -> String {
    match Recurrence::from_rrule(session.rrule.as_deref()) {
        Some(r) => rhythm_text(lang, &r),
        None => format!(
            "{} {}",
            words::get(lang, "rhythm_custom").unwrap_or("RRULE"),
            session.rrule.as_deref().unwrap_or("")
        ),
    }
}

/// The form's values for a saved session.
fn form_of(session: &Session) -> Fields {
    let mut f = Fields::default();
    f.set("title", &session.title);
    f.set("sport", &session.sport);
    f.set("level", session.level.clone().unwrap_or_default());
    f.set(
        "description",
        session.description.clone().unwrap_or_default(),
    );
    f.set("location", session.location.clone().unwrap_or_default());
    f.set("timezone", &session.timezone);
    f.set(
        "start_date",
        session.start_local.format("%Y-%m-%d").to_string(),
    );
    f.set(
        "start_time",
        session.start_local.format("%H:%M").to_string(),
    );
    f.set("duration_minutes", session.duration_minutes.to_string());
    f.set("capacity", session.capacity.to_string());
    f.set(
        "what_to_bring",
        session.what_to_bring.clone().unwrap_or_default(),
    );
    f.set("coach_name", session.coach_name.clone().unwrap_or_default());
    f.set(
        "reminder_hours_before",
        session.reminder_hours_before.to_string(),
    );
    f.set(
        "enrollment_closes_hours_before",
        session.enrollment_closes_hours_before.to_string(),
    );
    f.set(
        "status",
        match session.status {
            SessionStatus::Draft => "draft",
            _ => "published",
        },
    );
    let rrule = session.rrule.clone().unwrap_or_default();
    f.set("rrule", &rrule);
    f.set("rrule_drawn", &rrule);
    let holidays: Vec<String> = days_of(&session.exdates)
        .iter()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    f.set("holidays", holidays.join("\n"));
    match Recurrence::from_rrule(session.rrule.as_deref()) {
        Some(r) => set_recurrence(&mut f, &r, session.start_local.date()),
        None => {
            set_recurrence(
                &mut f,
                &Recurrence {
                    repeat: Repeat::Once,
                    ending: Ending::Never,
                },
                session.start_local.date(),
            );
            f.set("repeat", "custom");
        }
    }
    f
}

/// The recurrence fields for `r`, with defaults for the shapes it does not use drawn
/// from the start date (its weekday, its day of the month).
fn set_recurrence(f: &mut Fields, r: &Recurrence, start: NaiveDate) {
    let start_day = start.weekday();
    let nth_of_start = ((start.day() - 1) / 7 + 1).min(4);
    f.set("repeat_interval", "1");
    f.set("repeat_nth", nth_of_start.to_string());
    f.set("repeat_weekday", code_of(start_day));
    f.set("repeat_day", start.day().to_string());
    f.set("ends", "never");
    match &r.repeat {
        Repeat::Once => {
            f.set("repeat", "once");
            f.set(&format!("repeat_{}", code_of(start_day)), "on");
        }
        Repeat::Weekly { interval, days } => {
            f.set("repeat", "weekly");
            f.set("repeat_interval", interval.to_string());
            for day in days {
                f.set(&format!("repeat_{}", code_of(*day)), "on");
            }
        }
        Repeat::MonthlyWeekday {
            interval,
            nth,
            weekday,
        } => {
            f.set("repeat", "monthly_weekday");
            f.set("repeat_interval", interval.to_string());
            f.set("repeat_nth", nth.to_string());
            f.set("repeat_weekday", code_of(*weekday));
        }
        Repeat::MonthlyDay { interval, day } => {
            f.set("repeat", "monthly_day");
            f.set("repeat_interval", interval.to_string());
            f.set("repeat_day", day.to_string());
        }
    }
    match &r.ending {
        Ending::Never => {}
        Ending::On(date) => {
            f.set("ends", "on");
            f.set("ends_on", date.format("%Y-%m-%d").to_string());
        }
        Ending::After(n) => {
            f.set("ends", "after");
            f.set("ends_after", n.to_string());
        }
    }
}

fn code_of(day: Weekday) -> &'static str {
    DAYS.iter()
        .find(|(_, d)| *d == day)
        .map(|(code, _)| *code)
        .unwrap_or("mo")
}

/// Reads a number field; blank is `None`.
fn number<T: std::str::FromStr>(f: &Fields, name: &str, errors: &mut Errors) -> Option<T> {
    let text = f.opt(name)?;
    match text.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(FieldError::new(name, format!("{text:?} is not a number")));
            None
        }
    }
}

/// The recurrence the form's fields draw, when `repeat` is not "custom".
fn recurrence_of(f: &Fields, errors: &mut Errors) -> Option<Recurrence> {
    let interval = number::<u32>(f, "repeat_interval", errors).unwrap_or(1);
    let repeat = match f.get("repeat") {
        "custom" => return None,
        "weekly" => Repeat::Weekly {
            interval,
            days: DAYS
                .iter()
                .filter(|(code, _)| f.ticked(&format!("repeat_{code}")))
                .map(|(_, day)| *day)
                .collect(),
        },
        "monthly_weekday" => Repeat::MonthlyWeekday {
            interval,
            nth: number::<i8>(f, "repeat_nth", errors).unwrap_or(1),
            weekday: DAYS
                .iter()
                .find(|(code, _)| *code == f.get("repeat_weekday"))
                .map(|(_, day)| *day)
                .unwrap_or(Weekday::Mon),
        },
        "monthly_day" => Repeat::MonthlyDay {
            interval,
            day: number::<u32>(f, "repeat_day", errors).unwrap_or(1),
        },
        _ => Repeat::Once,
    };
    let ending = match f.get("ends") {
        "on" => match f
            .opt("ends_on")
            .map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d"))
        {
            Some(Ok(date)) => Ending::On(date),
            _ => {
                errors.add(FieldError::new(
                    "ends_on",
                    "give the last date, like 2027-06-30",
                ));
                Ending::Never
            }
        },
        "after" => match number::<u32>(f, "ends_after", errors) {
            Some(n) => Ending::After(n),
            None => {
                errors.add(FieldError::new("ends_after", "say after how many sessions"));
                Ending::Never
            }
        },
        _ => Ending::Never,
    };
    let recurrence = Recurrence { repeat, ending };
    if let Err(error) = recurrence.validate() {
        errors.add(error);
    }
    Some(recurrence)
}

/// A form read into what the operations take; every unreadable field is named.
struct Parsed {
    fields: SessionFields,
    /// When the start was moved to the rule's first day (a Wednesday start for a
    /// Saturday rule), the start that was typed.
    aligned_from: Option<NaiveDateTime>,
}

fn parse(f: &Fields) -> Result<Parsed, Errors> {
    let mut errors = Errors::default();
    let date = match NaiveDate::parse_from_str(f.get("start_date").trim(), "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors.add(FieldError::new(
                "start_date",
                "give the first date, like 2026-10-17",
            ));
            None
        }
    };
    let time = match NaiveTime::parse_from_str(f.get("start_time").trim(), "%H:%M") {
        Ok(time) => Some(time),
        Err(_) => {
            errors.add(FieldError::new(
                "start_time",
                "give the start time, like 10:00",
            ));
            None
        }
    };
    let duration = number::<i32>(f, "duration_minutes", &mut errors);
    if duration.is_none() {
        // For a blank field; a typed non-number keeps its own message (the first stays).
        errors.add(FieldError::new(
            "duration_minutes",
            "say how long it lasts, in minutes",
        ));
    }
    let capacity = number::<i32>(f, "capacity", &mut errors);
    if capacity.is_none() {
        errors.add(FieldError::new(
            "capacity",
            "say how many places the club keeps",
        ));
    }
    let reminder = number::<i32>(f, "reminder_hours_before", &mut errors);
    let closes = number::<i32>(f, "enrollment_closes_hours_before", &mut errors);
    let drawn = recurrence_of(f, &mut errors);
    // The raw rule wins when chosen, or when someone edited it by hand.
    let raw = f.opt("rrule");
    let raw_edited = raw.as_deref().unwrap_or("") != f.get("rrule_drawn").trim();
    let from_form = drawn.as_ref().filter(|_| !raw_edited);
    let rrule = match from_form {
        Some(r) => r.to_rrule(),
        None => raw,
    };
    // A one-off session has no dates without a session (the box is hidden then).
    let holidays = match rrule {
        Some(_) => parse_dates("holidays", f.get("holidays")).unwrap_or_else(|e| {
            errors.add(e);
            Vec::new()
        }),
        None => Vec::new(),
    };
    let (Some(date), Some(time), Some(duration_minutes), Some(capacity), true) =
        (date, time, duration, capacity, errors.is_empty())
    else {
        return Err(errors);
    };
    let typed = date.and_time(time);
    // The form's own rule names the form's field to correct (the last day, the day of
    // the month); a rule typed by hand is checked by the schedule, on `rrule`.
    let start = match (from_form, &rrule) {
        (Some(drawn), _) => drawn.first_start(typed).map_err(|e| {
            errors.add(e);
            errors.clone()
        })?,
        (None, Some(rule)) => first_on_or_after(rule, typed).unwrap_or(typed),
        (None, None) => typed,
    };
    Ok(Parsed {
        aligned_from: (start != typed).then_some(typed),
        fields: SessionFields {
            title: f.get("title").to_owned(),
            sport: f.get("sport").to_owned(),
            description: f.opt("description"),
            level: f.opt("level"),
            location: f.opt("location"),
            timezone: f.opt("timezone"),
            start,
            duration_minutes,
            rrule,
            exdates: Some(exdates_at(&holidays, start.time())),
            capacity,
            status: Some(match f.get("status") {
                "draft" => Publication::Draft,
                _ => Publication::Published,
            }),
            what_to_bring: f.opt("what_to_bring"),
            coach_name: f.opt("coach_name"),
            reminder_hours_before: reminder,
            enrollment_closes_hours_before: closes,
        },
    })
}

/// Every field given, so a save replaces the session with what the form shows.
fn changes_of(fields: SessionFields) -> SessionChanges {
    SessionChanges {
        title: Some(fields.title),
        sport: Some(fields.sport),
        description: Some(fields.description),
        level: Some(fields.level),
        location: Some(fields.location),
        timezone: fields.timezone,
        start: Some(fields.start),
        duration_minutes: Some(fields.duration_minutes),
        rrule: Some(fields.rrule),
        exdates: fields.exdates,
        capacity: Some(fields.capacity),
        status: fields.status,
        what_to_bring: Some(fields.what_to_bring),
        coach_name: Some(fields.coach_name),
        reminder_hours_before: fields.reminder_hours_before,
        enrollment_closes_hours_before: fields.enrollment_closes_hours_before,
    }
}

/// The next occurrences of a preview, in the session's local time.
fn upcoming(lang: Lang, preview: &Preview) -> Vec<Value> {
    let now = crate::clock::now();
    let tz = preview.schedule.timezone();
    preview
        .schedule
        .occurrences(
            preview.session.capacity,
            &preview.overrides,
            now,
            now + Duration::days(366 * PREVIEW_YEARS),
        )
        .iter()
        .take(PREVIEW_COUNT)
        .map(|o| {
            let local = o.start.with_timezone(&tz);
            context! {
                day => written_day(lang, local.date_naive()),
                time => written_clock(lang, local.time()),
                datetime => local.to_rfc3339(),
                cancelled => o.status == OccurrenceStatus::Cancelled,
                moved => o.status == OccurrenceStatus::Moved,
            }
        })
        .collect()
}

/// What the form page shows besides its fields.
#[derive(Default)]
struct Shown {
    preview: Option<Vec<Value>>,
    /// The confirmed people a save would tell, when it would tell someone.
    told: Option<usize>,
    /// The first day, when the typed start was moved to it.
    aligned_from: Option<String>,
    drawn_rule: Option<String>,
    /// The saved session's next dates.
    upcoming: Vec<Value>,
}

fn form_page(
    me: &SignedIn,
    request: &Request,
    status: StatusCode,
    session: Option<&Session>,
    f: &Fields,
    errors: &Errors,
    shown: Shown,
) -> PageResult {
    let frame = Frame::of(me, request);
    let lang = me.lang;
    let days: Vec<Value> = DAYS
        .iter()
        .map(|(code, day)| context! { code => *code, name => day_name(lang, *day) })
        .collect();
    let rhythm = session.map(|s| rhythm_values(lang, s));
    Ok(page(
        &frame,
        status,
        "session_form.html",
        context! {
            f => value(f),
            errors => value(errors),
            days => days,
            session => session.map(|s| context! {
                id => s.id.to_string(),
                title => s.title.clone(),
                status => s.status.as_str(),
                cancelled => s.status == SessionStatus::Cancelled,
                rhythm => rhythm,
            }),
            preview_shown => shown.preview.is_some(),
            preview => shown.preview,
            upcoming => shown.upcoming,
            told => shown.told,
            aligned_from => shown.aligned_from,
            drawn_rule => shown.drawn_rule,
        },
    ))
}

#[handler]
pub async fn new_form(request: &Request, me: SignedIn) -> PageResult {
    me.own_club()?;
    let mut f = Fields::default();
    let next_week = crate::clock::now().date_naive() + Duration::days(7);
    f.set("start_date", next_week.format("%Y-%m-%d").to_string());
    f.set("start_time", "18:00");
    f.set("duration_minutes", "90");
    f.set("capacity", "4");
    f.set("timezone", "Europe/Paris");
    f.set("reminder_hours_before", "24");
    f.set("enrollment_closes_hours_before", "2");
    f.set("status", "published");
    set_recurrence(
        &mut f,
        &Recurrence {
            repeat: Repeat::Weekly {
                interval: 1,
                days: vec![next_week.weekday()],
            },
            ending: Ending::Never,
        },
        next_week,
    );
    form_page(
        &me,
        request,
        StatusCode::OK,
        None,
        &f,
        &Errors::default(),
        Shown::default(),
    )
}

/// The form again with its errors (422), keeping what was typed.
fn invalid(
    me: &SignedIn,
    request: &Request,
    session: Option<&Session>,
    f: &Fields,
    errors: Errors,
) -> PageResult {
    form_page(
        me,
        request,
        StatusCode::UNPROCESSABLE_ENTITY,
        session,
        f,
        &errors,
        Shown::default(),
    )
}

/// What the form drew, shown under the raw rule so the two can be compared.
fn shown_of(lang: Lang, parsed: &Parsed, preview: &Preview, told: Option<usize>) -> Shown {
    Shown {
        preview: Some(upcoming(lang, preview)),
        told,
        aligned_from: parsed
            .aligned_from
            .map(|_| written_day(lang, parsed.fields.start.date())),
        drawn_rule: parsed.fields.rrule.clone(),
        upcoming: Vec::new(),
    }
}

#[handler]
pub async fn create(request: &Request, state: Data<&AppState>, form: Posted) -> PageResult {
    let Posted { me, mut fields } = form;
    let club_id = me.own_club()?;
    let parsed = match parse(&fields) {
        Ok(parsed) => parsed,
        Err(errors) => return invalid(&me, request, None, &fields, errors),
    };
    if fields.get("action") == "preview" {
        return match preview_new_session(&state.store, &me.caller, club_id, parsed.fields.clone())
            .await
        {
            Ok(preview) => {
                keep_drawn(&mut fields, &parsed);
                let shown = shown_of(me.lang, &parsed, &preview, None);
                form_page(
                    &me,
                    request,
                    StatusCode::OK,
                    None,
                    &fields,
                    &Errors::default(),
                    shown,
                )
            }
            Err(error) => invalid(&me, request, None, &fields, Errors::from_op(error)?),
        };
    }
    match create_session(&state.store, &me.caller, club_id, parsed.fields).await {
        Ok(saved) => Ok(see_other(&format!(
            "/app/sessions/{}?saved=1",
            saved.session.id
        ))),
        Err(error) => invalid(&me, request, None, &fields, Errors::from_op(error)?),
    }
}

/// After a preview the raw box shows the rule the form drew, and counts as untouched.
fn keep_drawn(fields: &mut Fields, parsed: &Parsed) {
    let rule = parsed.fields.rrule.clone().unwrap_or_default();
    fields.set("rrule", &rule);
    fields.set("rrule_drawn", &rule);
    if parsed.aligned_from.is_some() {
        fields.set(
            "start_date",
            parsed.fields.start.format("%Y-%m-%d").to_string(),
        );
    }
}

fn session_id(text: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(text).map_err(|_| PageError::NotFound)
}

/// `/app/sessions/{id}` for the club: its next dates (each a link to its page) and the
/// edit form.
pub async fn edit_form(
    request: &Request,
    state: &AppState,
    me: &SignedIn,
    session: &Session,
) -> PageResult {
    let mut f = form_of(session);
    if Fields::query(request).ticked("saved") {
        f.set("saved", "1");
    }
    let upcoming = next_dates(state, me.lang, session).await?;
    form_page(
        me,
        request,
        StatusCode::OK,
        Some(session),
        &f,
        &Errors::default(),
        Shown {
            upcoming,
            ..Shown::default()
        },
    )
}

/// Occurrences a session's page lists ahead.
const NEXT_DATES: usize = 8;

async fn next_dates(
    state: &AppState,
    lang: Lang,
    session: &Session,
) -> Result<Vec<Value>, PageError> {
    let Ok(schedule) = crate::planning::schedule_of(session) else {
        return Ok(Vec::new());
    };
    let now = crate::clock::now();
    let overrides = state.store.overrides(session.id).await?;
    let mut occurrences =
        schedule.occurrences(session.capacity, &overrides, now, now + Duration::days(366));
    occurrences.truncate(NEXT_DATES);
    let taken = crate::ops::places::taken_in(&state.store, session.id, &occurrences).await?;
    let tz = schedule.timezone();
    Ok(occurrences
        .iter()
        .map(|o| {
            let local = o.start.with_timezone(&tz);
            context! {
                key => o.key.to_string(),
                day => written_day(lang, local.date_naive()),
                time => written_clock(lang, local.time()),
                taken => taken.get(&o.key).copied().unwrap_or(0),
                capacity => o.capacity,
                cancelled => o.status == OccurrenceStatus::Cancelled,
                moved => o.status == OccurrenceStatus::Moved,
            }
        })
        .collect())
}

#[handler]
pub async fn update(
    request: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    form: Posted,
) -> PageResult {
    let Posted { me, mut fields } = form;
    let id = session_id(&id)?;
    let session = managed_session(&state.store, &me.caller, id).await?;
    let parsed = match parse(&fields) {
        Ok(parsed) => parsed,
        Err(errors) => return invalid(&me, request, Some(&session), &fields, errors),
    };
    let preview = match preview_session_update(
        &state.store,
        &me.caller,
        id,
        changes_of(parsed.fields.clone()),
    )
    .await
    {
        Ok(preview) => preview,
        Err(OpError::Invalid(field)) => {
            let mut errors = Errors::default();
            errors.add(field);
            return invalid(&me, request, Some(&session), &fields, errors);
        }
        Err(other) => return Err(other.into()),
    };
    // Saving tells people: say how many first, unless this form already said it.
    let confirmed_told = fields.get("confirm_told").parse::<usize>().ok();
    let must_confirm = preview.told > 0 && confirmed_told != Some(preview.told);
    if fields.get("action") == "preview" || must_confirm {
        keep_drawn(&mut fields, &parsed);
        let told = (preview.told > 0).then_some(preview.told);
        let shown = shown_of(me.lang, &parsed, &preview, told);
        return form_page(
            &me,
            request,
            StatusCode::OK,
            Some(&session),
            &fields,
            &Errors::default(),
            shown,
        );
    }
    match update_session(&state.store, &me.caller, id, changes_of(parsed.fields)).await {
        Ok(saved) => Ok(see_other(&format!(
            "/app/sessions/{}?saved=1",
            saved.session.id
        ))),
        Err(error) => invalid(
            &me,
            request,
            Some(&session),
            &fields,
            Errors::from_op(error)?,
        ),
    }
}

/// Cancelling a whole session: a confirmation page, then the cancellation.
#[handler]
pub async fn cancel_form(
    request: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    me: SignedIn,
) -> PageResult {
    let session = managed_session(&state.store, &me.caller, session_id(&id)?).await?;
    let told = state.store.holders(session.id).await?.len();
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "session_cancel.html",
        context! {
            session => context! {
                id => session.id.to_string(),
                title => session.title.clone(),
                cancelled => session.status == SessionStatus::Cancelled,
            },
            told => told,
        },
    ))
}

#[handler]
pub async fn cancel(state: Data<&AppState>, Path(id): Path<String>, form: Posted) -> PageResult {
    let saved = cancel_session(&state.store, &form.me.caller, session_id(&id)?).await?;
    Ok(see_other(&format!(
        "/app/sessions/{}?saved=1",
        saved.session.id
    )))
}
