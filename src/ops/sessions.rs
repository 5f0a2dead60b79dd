//! A club's sessions: publish, change, cancel, and change one occurrence. Each runs in
//! one transaction with what the change means for enrollments (re-keyed, cancelled,
//! promoted from the waitlist) and their calendars (update and cancellation messages),
//! so a failed request leaves nothing half-done and a retried one completes.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use uuid::Uuid;

use super::access::{self, found};
use super::{places, OpError, OpResult};
use crate::domain::access::Caller;
use crate::domain::places::{EnrollmentStatus, Scope};
use crate::domain::schedule::{
    check_capacity, check_duration, check_start_within_reach, Occurrence, OccurrenceKey, Override,
    Schedule, SessionStatus,
};
use crate::domain::validate::{optional_text, required_text, search_key};
use crate::domain::FieldError;
use crate::planning::{calendar_fields_differ, schedule_of, search_rows};
use crate::store::clubs::Club;
use crate::store::outbox::{MessageKind, Notice, Target};
use crate::store::sessions::{Materialization, Session};
use crate::store::{Store, StoreResult, Tx};

const DEFAULT_TIMEZONE: &str = "Europe/Paris";

/// Whether a session is shown to social workers yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum Publication {
    Draft,
    Published,
}

impl From<Publication> for SessionStatus {
    fn from(publication: Publication) -> Self {
        match publication {
            Publication::Draft => Self::Draft,
            Publication::Published => Self::Published,
        }
    }
}

/// What can happen to one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum OccurrenceAction {
    /// Cancel this occurrence.
    Cancelled,
    /// Restore a cancelled occurrence.
    Scheduled,
}

/// A new session, as typed in a form or a JSON body.
#[derive(Debug, Clone)]
pub struct SessionFields {
    pub title: String,
    pub sport: String,
    pub description: Option<String>,
    pub level: Option<String>,
    pub location: Option<String>,
    pub timezone: Option<String>,
    pub start: NaiveDateTime,
    pub duration_minutes: i32,
    pub rrule: Option<String>,
    pub exdates: Option<Vec<NaiveDateTime>>,
    pub capacity: i32,
    pub status: Option<Publication>,
    pub what_to_bring: Option<String>,
    pub coach_name: Option<String>,
    pub reminder_hours_before: Option<i32>,
    pub enrollment_closes_hours_before: Option<i32>,
}

/// Fields to change: `None` keeps, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct SessionChanges {
    pub title: Option<String>,
    pub sport: Option<String>,
    pub description: Option<Option<String>>,
    pub level: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub timezone: Option<String>,
    pub start: Option<NaiveDateTime>,
    pub duration_minutes: Option<i32>,
    pub rrule: Option<Option<String>>,
    pub exdates: Option<Vec<NaiveDateTime>>,
    pub capacity: Option<i32>,
    pub status: Option<Publication>,
    pub what_to_bring: Option<Option<String>>,
    pub coach_name: Option<Option<String>>,
    pub reminder_hours_before: Option<i32>,
    pub enrollment_closes_hours_before: Option<i32>,
}

/// A change to one occurrence: `None` keeps, `Some(None)` back to what the session says.
#[derive(Debug, Clone, Default)]
pub struct OccurrenceChange {
    pub status: Option<OccurrenceAction>,
    pub start: Option<Option<NaiveDateTime>>,
    pub duration_minutes: Option<Option<i32>>,
    pub capacity: Option<Option<i32>>,
}

/// A session as saved, with its club.
#[derive(Debug, Clone)]
pub struct Saved {
    pub session: Session,
    pub club: Club,
    /// Overrides whose occurrence the changed rule no longer produces, now forgotten.
    pub dropped_overrides: Vec<OccurrenceKey>,
}

/// One occurrence after its change.
#[derive(Debug, Clone)]
pub struct ChangedOccurrence {
    pub occurrence: Occurrence,
    pub taken: i32,
    pub schedule: Schedule,
    pub session: Session,
    pub club: Club,
}

/// What saving a session would do, worked out without writing anything: the form's
/// preview and its "who will be told" come from the same code as the save.
#[derive(Debug, Clone)]
pub struct Preview {
    pub session: Session,
    pub schedule: Schedule,
    pub overrides: Vec<Override>,
    /// Confirmed enrollments that would get a calendar update (or a cancellation).
    pub told: usize,
}

/// A new session as it would be published.
pub async fn preview_new_session(
    store: &Store,
    caller: &Caller,
    club_id: Uuid,
    fields: SessionFields,
) -> OpResult<Preview> {
    if !caller.manages_club(club_id) {
        return Err(OpError::Forbidden(
            "only programme staff or this club's manager may add sessions",
        ));
    }
    found(store.club(club_id).await, "club")?;
    let now = crate::clock::now();
    let session = new_session(club_id, fields, now)?;
    let schedule = checked_schedule(&session, now)?;
    Ok(Preview {
        session,
        schedule,
        overrides: Vec::new(),
        told: 0,
    })
}

/// A change as it would be saved, and how many enrolled people it would tell.
pub async fn preview_session_update(
    store: &Store,
    caller: &Caller,
    id: Uuid,
    changes: SessionChanges,
) -> OpResult<Preview> {
    let current = access::managed_session(store, caller, id).await?;
    let now = crate::clock::now();
    let session = apply_changes(current.clone(), changes, now)?;
    let schedule = checked_schedule(&session, now)?;
    let overrides = store.overrides(session.id).await?;
    let kept: Vec<Override> = overrides
        .iter()
        .filter(|o| schedule.has_occurrence(o.key))
        .cloned()
        .collect();
    let holders = store.holders(session.id).await?.len();
    back_to_draft(&current, &session, holders)?;
    let told = if calendar_fields_differ(&current, &session) {
        holders
    } else {
        0
    };
    Ok(Preview {
        session,
        schedule,
        overrides: kept,
        told,
    })
}

/// A draft is hidden from everyone but its club: people holding places in it would keep
/// them with no date to see and no reminder. Cancelling tells them; hiding would not.
fn back_to_draft(current: &Session, next: &Session, holders: usize) -> OpResult<()> {
    if current.status == SessionStatus::Published
        && next.status == SessionStatus::Draft
        && holders > 0
    {
        return Err(OpError::invalid(
            "status",
            format!(
                "{holders} people hold places in this session: it stays published; cancel it \
                 instead, and they are told"
            ),
        ));
    }
    Ok(())
}

/// Publishes a session: programme staff, or the club's manager.
pub async fn create_session(
    store: &Store,
    caller: &Caller,
    club_id: Uuid,
    fields: SessionFields,
) -> OpResult<Saved> {
    if !caller.manages_club(club_id) {
        return Err(OpError::Forbidden(
            "only programme staff or this club's manager may add sessions",
        ));
    }
    let club = found(store.club(club_id).await, "club")?;
    let now = crate::clock::now();
    let mut session = new_session(club.id, fields, now)?;
    let schedule = checked_schedule(&session, now)?;
    let rows = search_rows(&mut session, &schedule, &[], now);
    let mut tx = store.write().await?;
    tx.insert_session(&Materialization {
        session: &session,
        club_city: &club.city,
        occurrences: &rows,
    })
    .await?;
    tx.commit().await?;
    Ok(Saved {
        session,
        club,
        dropped_overrides: Vec::new(),
    })
}

/// Changes a session. Occurrence keys stay unless the rule or start changes; then
/// enrollments follow their occurrence (or are cancelled when its day is gone) and
/// overrides of vanished occurrences are dropped. Calendars get an update, freed places
/// go to the waitlist.
pub async fn update_session(
    store: &Store,
    caller: &Caller,
    id: Uuid,
    changes: SessionChanges,
) -> OpResult<Saved> {
    let current = access::managed_session(store, caller, id).await?;
    if current.status == SessionStatus::Cancelled {
        return Err(OpError::Conflict(
            "this session is cancelled and can no longer change".into(),
        ));
    }
    let now = crate::clock::now();
    let club = found(store.club(current.club_id).await, "club")?;
    let mut session = apply_changes(current.clone(), changes, now)?;
    back_to_draft(&current, &session, store.holders(session.id).await?.len())?;
    let calendars_change = calendar_fields_differ(&current, &session);
    let old_schedule = schedule_of(&current)?;
    let schedule = checked_schedule(&session, now)?;
    let overrides = store.overrides(session.id).await?;
    let dropped: Vec<OccurrenceKey> = schedule
        .orphaned_overrides(&overrides)
        .iter()
        .map(|o| o.key)
        .collect();
    let kept: Vec<Override> = overrides
        .into_iter()
        .filter(|o| !dropped.contains(&o.key))
        .collect();
    let rows = search_rows(&mut session, &schedule, &kept, now);
    let mut tx = store.write().await?;
    tx.lock_session(session.id).await?;
    tx.update_session(&Materialization {
        session: &session,
        club_city: &club.city,
        occurrences: &rows,
    })
    .await?;
    tx.drop_overrides(session.id, &dropped).await?;
    rekey_enrollments(&mut tx, session.id, &old_schedule, &schedule, now).await?;
    if calendars_change {
        let mut update = Notice::new(
            MessageKind::Update,
            Target::Session(session.id, EnrollmentStatus::Confirmed),
            now,
        );
        update.new_sequence = true;
        update.detail = Some("session_changed");
        tx.enqueue(&update).await?;
    }
    places::settle(&mut tx, session.id, now).await?;
    tx.commit().await?;
    Ok(Saved {
        session,
        club,
        dropped_overrides: dropped,
    })
}

/// Enrollments whose key the new schedule no longer has: a series moves to the first
/// occurrence from the same day on, a single occurrence to the one on the same day, or
/// is cancelled (with its message) when its day has none.
async fn rekey_enrollments(
    tx: &mut Tx,
    session_id: Uuid,
    old: &Schedule,
    new: &Schedule,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut active = tx
        .enrollments_in(session_id, EnrollmentStatus::Confirmed)
        .await?;
    active.extend(
        tx.enrollments_in(session_id, EnrollmentStatus::Waitlisted)
            .await?,
    );
    // Every move first, so the places counted when the cancelled ones are released
    // are those of the new schedule.
    let mut gone = Vec::new();
    for enrollment in active {
        let Some(key) = enrollment.from() else {
            continue;
        };
        let one = enrollment.scope == Scope::Occurrence;
        match new.rekey(old, key, one) {
            Some(same) if same == key => {}
            Some(moved) => tx.rekey_enrollment(enrollment.id, moved).await?,
            None if one => gone.push(enrollment.id),
            None => {}
        }
    }
    // An answer ("I can't come") follows its day's occurrence too.
    for (enrollment_id, raw) in tx.answers_in_session(session_id).await? {
        let Ok(key) = raw.parse::<OccurrenceKey>() else {
            continue;
        };
        match new.rekey(old, key, true) {
            Some(same) if same == key => {}
            moved => tx.move_rsvp(enrollment_id, &raw, moved).await?,
        }
    }
    for id in gone {
        places::release(tx, session_id, id, now).await?;
    }
    Ok(())
}

/// Cancels a session and every enrollment in it, with their cancellation messages, in
/// one transaction. Cancelling again finishes what an interrupted attempt left.
pub async fn cancel_session(store: &Store, caller: &Caller, id: Uuid) -> OpResult<Saved> {
    let mut session = access::managed_session(store, caller, id).await?;
    let club = found(store.club(session.club_id).await, "club")?;
    let now = crate::clock::now();
    let mut tx = store.write().await?;
    tx.lock_session(session.id).await?;
    if session.status != SessionStatus::Cancelled {
        session.status = SessionStatus::Cancelled;
        session.sequence += 1;
        session.updated_at = now;
        let schedule = schedule_of(&session)?;
        let overrides = store.overrides(session.id).await?;
        let rows = search_rows(&mut session, &schedule, &overrides, now);
        tx.update_session(&Materialization {
            session: &session,
            club_city: &club.city,
            occurrences: &rows,
        })
        .await?;
    }
    tx.cancel_session_enrollments(session.id, now).await?;
    tx.commit().await?;
    Ok(Saved {
        session,
        club,
        dropped_overrides: Vec::new(),
    })
}

/// Cancels, restores, moves or resizes one occurrence. The key stays the original
/// start; the enrollments covering it get a calendar update, freed places go to the
/// waitlist.
pub async fn change_occurrence(
    store: &Store,
    caller: &Caller,
    session_id: Uuid,
    raw_key: &str,
    change: OccurrenceChange,
) -> OpResult<ChangedOccurrence> {
    let mut session = access::managed_session(store, caller, session_id).await?;
    if session.status == SessionStatus::Cancelled {
        return Err(OpError::Conflict(
            "this session is cancelled and can no longer change".into(),
        ));
    }
    let schedule = schedule_of(&session)?;
    let key = access::existing_occurrence(&schedule, raw_key)?;
    let now = crate::clock::now();
    let mut overrides = store.overrides(session.id).await?;
    let current = overrides.iter().find(|o| o.key == key).cloned();
    let changed = changed_override(&schedule, &session, key, current, change, now)?;
    overrides.retain(|o| o.key != key);
    overrides.extend(changed.clone());
    session.sequence += 1;
    session.updated_at = now;
    let club = found(store.club(session.club_id).await, "club")?;
    let rows = search_rows(&mut session, &schedule, &overrides, now);
    let key_text = key.to_string();
    let detail = occurrence_change_detail(key, changed.as_ref());
    let mut tx = store.write().await?;
    tx.lock_session(session.id).await?;
    tx.save_override(
        &Materialization {
            session: &session,
            club_city: &club.city,
            occurrences: &rows,
        },
        key,
        changed.as_ref(),
    )
    .await?;
    let mut update = Notice::new(
        MessageKind::Update,
        Target::Covering(session.id, &key_text),
        now,
    );
    update.new_sequence = true;
    update.occurrence_key = Some(&key_text);
    update.detail = Some(&detail);
    tx.enqueue(&update).await?;
    places::settle(&mut tx, session.id, now).await?;
    tx.commit().await?;
    let occurrence = schedule.apply(key, session.capacity, changed.as_ref());
    let next = OccurrenceKey::new(key.original_start() + chrono::Duration::seconds(1));
    let taken = store
        .taken_places(session.id, key, next)
        .await?
        .first()
        .map(|(_, taken)| *taken)
        .unwrap_or_default();
    Ok(ChangedOccurrence {
        occurrence,
        taken,
        schedule,
        session,
        club,
    })
}

fn new_session(
    club_id: Uuid,
    fields: SessionFields,
    now: DateTime<Utc>,
) -> Result<Session, FieldError> {
    Ok(Session {
        id: Uuid::new_v4(),
        club_id,
        title: required_text("title", &fields.title, 200)?,
        sport: search_key(&required_text("sport", &fields.sport, 60)?),
        description: optional_text("description", fields.description.as_deref(), 4000)?,
        level: optional_text("level", fields.level.as_deref(), 100)?,
        location: optional_text("location", fields.location.as_deref(), 300)?,
        timezone: fields
            .timezone
            .as_deref()
            .map(str::trim)
            .filter(|tz| !tz.is_empty())
            .unwrap_or(DEFAULT_TIMEZONE)
            .to_owned(),
        start_local: fields.start.trunc_subsecs(0),
        duration_minutes: fields.duration_minutes,
        rrule: optional_text("rrule", fields.rrule.as_deref(), 500)?,
        exdates: fields
            .exdates
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.trunc_subsecs(0))
            .collect(),
        capacity: fields.capacity,
        status: fields.status.unwrap_or(Publication::Published).into(),
        what_to_bring: optional_text("what_to_bring", fields.what_to_bring.as_deref(), 1000)?,
        coach_name: optional_text("coach_name", fields.coach_name.as_deref(), 200)?,
        reminder_hours_before: fields.reminder_hours_before.unwrap_or(24),
        enrollment_closes_hours_before: fields.enrollment_closes_hours_before.unwrap_or(2),
        sequence: 0,
        materialized_until: now,
        created_at: now,
        updated_at: now,
    })
}

fn apply_changes(
    mut s: Session,
    c: SessionChanges,
    now: DateTime<Utc>,
) -> Result<Session, FieldError> {
    if let Some(title) = &c.title {
        s.title = required_text("title", title, 200)?;
    }
    if let Some(sport) = &c.sport {
        s.sport = search_key(&required_text("sport", sport, 60)?);
    }
    if let Some(value) = &c.description {
        s.description = optional_text("description", value.as_deref(), 4000)?;
    }
    if let Some(value) = &c.level {
        s.level = optional_text("level", value.as_deref(), 100)?;
    }
    if let Some(value) = &c.location {
        s.location = optional_text("location", value.as_deref(), 300)?;
    }
    if let Some(timezone) = c.timezone {
        s.timezone = timezone.trim().to_owned();
    }
    if let Some(start) = c.start {
        s.start_local = start.trunc_subsecs(0);
    }
    if let Some(minutes) = c.duration_minutes {
        s.duration_minutes = minutes;
    }
    if let Some(value) = &c.rrule {
        s.rrule = optional_text("rrule", value.as_deref(), 500)?;
    }
    if let Some(exdates) = c.exdates {
        s.exdates = exdates.into_iter().map(|d| d.trunc_subsecs(0)).collect();
    }
    if let Some(capacity) = c.capacity {
        s.capacity = capacity;
    }
    if let Some(status) = c.status {
        s.status = status.into();
    }
    if let Some(value) = &c.what_to_bring {
        s.what_to_bring = optional_text("what_to_bring", value.as_deref(), 1000)?;
    }
    if let Some(value) = &c.coach_name {
        s.coach_name = optional_text("coach_name", value.as_deref(), 200)?;
    }
    if let Some(hours) = c.reminder_hours_before {
        s.reminder_hours_before = hours;
    }
    if let Some(hours) = c.enrollment_closes_hours_before {
        s.enrollment_closes_hours_before = hours;
    }
    s.sequence += 1;
    s.updated_at = now;
    Ok(s)
}

/// What a participant's update says about one occurrence's change.
fn occurrence_change_detail(key: OccurrenceKey, change: Option<&Override>) -> String {
    let what = match change {
        Some(c) if c.cancelled => "occurrence_cancelled",
        Some(c) if c.start.is_some() || c.duration_minutes.is_some() => "occurrence_moved",
        Some(_) => "occurrence_changed",
        None => "occurrence_restored",
    };
    format!("{what}:{key}")
}

/// Checks everything about a session's timing and places.
fn checked_schedule(session: &Session, now: DateTime<Utc>) -> Result<Schedule, FieldError> {
    check_capacity("capacity", session.capacity)?;
    check_duration(session.duration_minutes)?;
    check_hours("reminder_hours_before", session.reminder_hours_before)?;
    check_hours(
        "enrollment_closes_hours_before",
        session.enrollment_closes_hours_before,
    )?;
    check_start_within_reach("start", session.start_local, now.date_naive())?;
    schedule_of(session)
}

fn check_hours(field: &str, hours: i32) -> Result<(), FieldError> {
    if (0..=336).contains(&hours) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be between 0 and 336 hours (two weeks)",
        ))
    }
}

/// The override after `change`, or `None` when the occurrence is back to what the rule
/// says.
fn changed_override(
    schedule: &Schedule,
    session: &Session,
    key: OccurrenceKey,
    current: Option<Override>,
    change: OccurrenceChange,
    now: DateTime<Utc>,
) -> Result<Option<Override>, FieldError> {
    let mut result = current.unwrap_or_else(|| Override::new(key));
    if let Some(action) = change.status {
        result.cancelled = action == OccurrenceAction::Cancelled;
    }
    match change.start {
        Some(Some(local)) => {
            check_start_within_reach("start", local, now.date_naive())?;
            let start = schedule.resolve(local.trunc_subsecs(0));
            result.start = (start != result.key.original_start()).then_some(start);
        }
        Some(None) => result.start = None,
        None => {}
    }
    match change.duration_minutes {
        Some(Some(minutes)) => {
            check_duration(minutes)?;
            result.duration_minutes = (minutes != session.duration_minutes).then_some(minutes);
        }
        Some(None) => result.duration_minutes = None,
        None => {}
    }
    match change.capacity {
        Some(Some(places)) => {
            check_capacity("capacity", places)?;
            result.capacity = (places != session.capacity).then_some(places);
        }
        Some(None) => result.capacity = None,
        None => {}
    }
    Ok((!result.is_noop()).then_some(result))
}
