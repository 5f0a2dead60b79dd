//! From an outbox row to the email it stands for, rendered from the current state with
//! the calendar SEQUENCE of its cause. Reminders are checked again here, at send time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, Utc};
use lettre::message::Mailbox;
use lettre::Message;
use uuid::Uuid;

use super::context::{MailContext, MessageKind};
use super::lang::Lang;
use super::mime::{self, CalendarPart};
use super::templates::TemplateError;
use super::written_time::{weekday_recurrence, written, written_in};
use super::Mailer;
use crate::domain::calendar::{self, EventStatus, Method, Person};
use crate::domain::invite::{self, Timing};
use crate::domain::participants::roster_name;
use crate::domain::rsvp::{Answer, Rsvp};
use crate::domain::schedule::{OccurrenceKey, OccurrenceStatus, Override, Schedule};
use crate::planning::schedule_of;
use crate::store::clubs::Club;
use crate::store::enrollments::Enrollment;
use crate::store::mail_facts::{MailPerson, Referrer};
use crate::store::outbox::{Audience, OutboxMessage};
use crate::store::sessions::Session;
use crate::store::{Store, StoreError};

/// What to do with a claimed message.
pub enum Composed {
    Ready {
        recipient: String,
        message: Box<Message>,
    },
    /// Nothing to send any more; the reason is kept on the message.
    Skip(String),
    /// Not due yet (a reminder whose occurrence was moved later).
    NotBefore(DateTime<Utc>),
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Template(#[from] TemplateError),
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// A session as email shows it: its timing, overrides and club.
pub struct Place {
    pub session: Session,
    pub club: Club,
    pub schedule: Schedule,
    pub overrides: Vec<Override>,
}

/// Everything a message about one enrollment draws on.
pub struct Facts {
    pub enrollment: Enrollment,
    pub participant: MailPerson,
    pub referrer: Referrer,
    pub place: Arc<Place>,
    pub feed_token: String,
}

impl Facts {
    /// The facts of many enrollments in a few queries. An enrollment whose participant
    /// was erased (or whose session no longer reads as a schedule) is absent.
    pub async fn load_many(
        store: &Store,
        enrollment_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Facts>, StoreError> {
        let people = store.mail_people(enrollment_ids).await?;
        let mut places: HashMap<Uuid, Option<Arc<Place>>> = HashMap::new();
        let mut facts = HashMap::with_capacity(people.len());
        for (id, (enrollment, participant, referrer)) in people {
            let place = match places.get(&enrollment.session_id) {
                Some(place) => place.clone(),
                None => {
                    let (session, club, overrides) =
                        store.session_place(enrollment.session_id).await?;
                    let place = schedule_of(&session).ok().map(|schedule| {
                        Arc::new(Place {
                            session,
                            club,
                            schedule,
                            overrides,
                        })
                    });
                    places.insert(enrollment.session_id, place.clone());
                    place
                }
            };
            let Some(place) = place else { continue };
            let feed_token = match &participant.feed_token {
                Some(token) => token.clone(),
                None => store.feed_token(participant.id).await?,
            };
            facts.insert(
                id,
                Facts {
                    enrollment,
                    participant,
                    referrer,
                    place,
                    feed_token,
                },
            );
        }
        Ok(facts)
    }

    pub async fn load(store: &Store, enrollment_id: Uuid) -> Result<Option<Self>, StoreError> {
        Ok(Self::load_many(store, &[enrollment_id])
            .await?
            .remove(&enrollment_id))
    }

    fn summary(&self) -> String {
        summary(&self.place.session.sport, &self.place.club.name)
    }

    /// Where it happens: the session's place, or the club's address.
    pub fn address(&self) -> String {
        self.place
            .session
            .location
            .clone()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| self.place.club.address_line())
    }

    fn tz(&self) -> chrono_tz::Tz {
        self.place.schedule.timezone()
    }

    fn key(&self) -> Option<OccurrenceKey> {
        self.enrollment.from_key.parse().ok()
    }

    fn is_series(&self) -> bool {
        self.enrollment.scope == crate::domain::places::Scope::Series
    }

    /// The calendar timing of the enrollment now.
    pub fn timing(&self) -> Option<Timing> {
        let key = self.key()?;
        if self.is_series() {
            invite::series(
                &self.place.schedule,
                self.place.session.rrule.as_deref(),
                &self.place.overrides,
                key,
            )
        } else {
            let change = self.place.overrides.iter().find(|o| o.key == key);
            Some(invite::one_occurrence(&self.place.schedule, key, change))
        }
    }

    /// The next occurrence the participant is expected at (not cancelled), from `now`.
    fn next_occurrence(&self, now: DateTime<Utc>) -> Option<crate::domain::schedule::Occurrence> {
        let key = self.key()?;
        if !self.is_series() {
            let change = self.place.overrides.iter().find(|o| o.key == key);
            return Some(self.place.schedule.apply(key, 1, change));
        }
        let from = key.original_start().max(now);
        self.place
            .schedule
            .occurrences(1, &self.place.overrides, from, from + Duration::days(400))
            .into_iter()
            .find(|o| o.status != OccurrenceStatus::Cancelled && o.key >= key)
    }
}

/// "Football — AS Bondy": sport and club, never anything about the person.
pub fn summary(sport: &str, club: &str) -> String {
    let mut letters = sport.chars();
    let sport = match letters.next() {
        Some(first) => first.to_uppercase().chain(letters).collect(),
        None => String::new(),
    };
    format!("{sport} — {club}")
}

pub fn map_url(club: &Club) -> Option<String> {
    match (club.latitude, club.longitude) {
        (Some(lat), Some(lon)) => Some(format!(
            "https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=17/{lat:.6}/{lon:.6}"
        )),
        _ => None,
    }
}

impl Mailer {
    /// Composes one message from its batch's facts (`None`: the enrollment or its
    /// participant is gone) and the batch's "I can't come" answers.
    pub async fn compose(
        &self,
        store: &Store,
        row: &OutboxMessage,
        facts: Option<&Facts>,
        declined: &HashSet<(Uuid, String)>,
        now: DateTime<Utc>,
    ) -> Result<Composed, ComposeError> {
        let kind = row.kind;
        if kind == MessageKind::SignIn {
            return self.compose_sign_in(store, row, now).await;
        }
        let Some(facts) = facts else {
            return Ok(Composed::Skip(
                "participant erased or enrollment gone".into(),
            ));
        };
        let audience = row.audience;
        let recipient = match audience {
            Audience::Participant => match &facts.participant.email {
                Some(email) => Mailbox::new(
                    Some(facts.participant.first_name.clone()),
                    match email.parse() {
                        Ok(address) => address,
                        Err(_) => return Ok(Composed::Skip("unusable address".into())),
                    },
                ),
                None => return Ok(Composed::Skip("the participant has no address".into())),
            },
            Audience::Referrer => Mailbox::new(
                Some(facts.referrer.name.clone()),
                match facts.referrer.email.parse() {
                    Ok(address) => address,
                    Err(_) => return Ok(Composed::Skip("unusable address".into())),
                },
            ),
            // Only sign-in links go to an account holder, composed above.
            Audience::User => return Ok(Composed::Skip("not a message to a user".into())),
        };
        let occurrence = match kind {
            MessageKind::Reminder => match reminder_due(row, facts, declined, now) {
                Ok(occurrence) => Some(occurrence),
                Err(composed) => return Ok(composed),
            },
            _ => facts.next_occurrence(now),
        };
        let lang = match audience {
            Audience::Participant => Lang::parse(&facts.participant.language).unwrap_or(Lang::Fr),
            // Social workers read the programme's language.
            Audience::Referrer | Audience::User => Lang::Fr,
        };
        let context = self
            .context(kind, lang, audience, row, facts, occurrence.as_ref(), store)
            .await?;
        let rendered = self.templates.render(lang, &context)?;
        let calendar = self.calendar_part(kind, row, facts, lang, occurrence.as_ref(), now);
        let message_id = format!("<{}@{}>", row.id, self.domain);
        let message = mime::build(
            &self.from,
            &recipient,
            &message_id,
            &rendered,
            calendar.as_ref(),
        )
        .map_err(|e| ComposeError::Build(e.to_string()))?;
        Ok(Composed::Ready {
            recipient: recipient.email.to_string().to_lowercase(),
            message: Box::new(message),
        })
    }

    /// A sign-in link, unless it was used or ran out before it could be sent.
    async fn compose_sign_in(
        &self,
        store: &Store,
        row: &OutboxMessage,
        now: DateTime<Utc>,
    ) -> Result<Composed, ComposeError> {
        let link = match row.detail.as_deref().map(Uuid::parse_str) {
            Some(Ok(id)) => store.login_link(id).await?,
            _ => None,
        };
        let Some(link) = link else {
            return Ok(Composed::Skip("sign-in link gone".into()));
        };
        if link.used_at.is_some() || link.expires_at <= now {
            return Ok(Composed::Skip("sign-in link used or expired".into()));
        }
        if link.user.disabled {
            return Ok(Composed::Skip("account disabled".into()));
        }
        let recipient = Mailbox::new(
            Some(link.user.name.clone()),
            match link.user.email.parse() {
                Ok(address) => address,
                Err(_) => return Ok(Composed::Skip("unusable address".into())),
            },
        );
        let lang = link
            .lang
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or(Lang::Fr);
        let token = self.signer.sign_in_token(link.link_id);
        let mut context = MailContext::sample(MessageKind::SignIn, lang);
        context.recipient_name = link.user.name.clone();
        context.summary = "Entourage Sport".into();
        context.sign_in_url = Some(format!("{}/login/{token}", self.public_url));
        let rendered = self.templates.render(lang, &context)?;
        // Says what it is, so a mail filter (or a test) can file sign-in links apart.
        let message_id = format!("<sign-in.{}@{}>", row.id, self.domain);
        let message = mime::build(&self.from, &recipient, &message_id, &rendered, None)
            .map_err(|e| ComposeError::Build(e.to_string()))?;
        Ok(Composed::Ready {
            recipient: recipient.email.to_string().to_lowercase(),
            message: Box::new(message),
        })
    }

    fn rsvp_url(&self, enrollment_id: Uuid, key: OccurrenceKey, answer: Answer) -> String {
        let token = self.signer.sign(&Rsvp {
            enrollment_id,
            occurrence: key,
            answer,
        });
        format!("{}/rsvp/{token}", self.public_url)
    }

    pub fn feed_url(&self, token: &str) -> String {
        format!("{}/calendar/participants/{token}.ics", self.public_url)
    }

    /// A club's public feed of its published sessions.
    pub fn club_feed_url(&self, club_id: uuid::Uuid) -> String {
        format!("{}/calendar/clubs/{club_id}.ics", self.public_url)
    }

    #[allow(clippy::too_many_arguments)]
    async fn context(
        &self,
        kind: MessageKind,
        lang: Lang,
        audience: Audience,
        row: &OutboxMessage,
        facts: &Facts,
        occurrence: Option<&crate::domain::schedule::Occurrence>,
        store: &Store,
    ) -> Result<MailContext, ComposeError> {
        let tz = facts.tz();
        let (first, initial) =
            roster_name(&facts.participant.first_name, &facts.participant.last_name);
        let participant_name = format!("{first} {initial}").trim().to_owned();
        let when_at = occurrence
            .map(|o| o.start)
            .or_else(|| facts.key().map(|k| k.original_start()));
        let when = when_at
            .map(|at| written(lang, at.with_timezone(&tz).naive_local()))
            .unwrap_or_default();
        let recurrence = (facts.is_series()
            && facts
                .place
                .session
                .rrule
                .as_deref()
                .is_some_and(|r| r.to_ascii_uppercase().contains("FREQ=WEEKLY")))
        .then(|| weekday_recurrence(lang, facts.place.session.start_local.weekday()));
        let rsvp = (kind == MessageKind::Reminder)
            .then(|| occurrence.map(|o| o.key))
            .flatten();
        let waitlist_position = if kind == MessageKind::Waitlisted {
            store
                .enrollment(facts.enrollment.id)
                .await?
                .waitlist_position
        } else {
            None
        };
        let is_failure = kind == MessageKind::DeliveryFailed;
        let is_alert = kind == MessageKind::AbsenceAlert;
        let missed = if is_alert {
            row.detail
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .filter_map(|at| DateTime::parse_from_rfc3339(at).ok())
                .map(|at| written_in(lang, at.with_timezone(&Utc), tz))
                .collect()
        } else {
            Vec::new()
        };
        Ok(MailContext {
            kind,
            lang,
            recipient_name: match audience {
                Audience::Participant => facts.participant.first_name.clone(),
                Audience::Referrer | Audience::User => facts.referrer.name.clone(),
            },
            copy_for: (audience == Audience::Referrer).then(|| participant_name.clone()),
            summary: facts.summary(),
            session_title: facts.place.session.title.clone(),
            when,
            recurrence,
            duration_minutes: occurrence
                .map(|o| i32::try_from((o.end - o.start).num_minutes()).unwrap_or(0))
                .unwrap_or(facts.place.session.duration_minutes),
            address: facts.address(),
            map_url: map_url(&facts.place.club),
            what_to_bring: facts.place.session.what_to_bring.clone(),
            coach_name: facts.place.session.coach_name.clone(),
            club_name: facts.place.club.name.clone(),
            club_phone: facts.place.club.contact_phone.clone(),
            club_email: facts.place.club.contact_email.clone(),
            rsvp_yes_url: rsvp.map(|k| self.rsvp_url(facts.enrollment.id, k, Answer::Coming)),
            rsvp_no_url: rsvp.map(|k| self.rsvp_url(facts.enrollment.id, k, Answer::NotComing)),
            feed_url: (!is_failure && !is_alert).then(|| self.feed_url(&facts.feed_token)),
            change_note: (!is_alert)
                .then(|| row.detail.as_deref().and_then(|d| change_note(lang, d, tz)))
                .flatten(),
            waitlist_position,
            missed,
            participant_code: (is_failure || is_alert).then(|| facts.participant.code.clone()),
            failed_kind: if is_failure {
                row.detail.as_deref().and_then(MessageKind::parse)
            } else {
                None
            },
            sign_in_url: None,
        })
    }

    /// The iCalendar object invitations, updates and cancellations carry.
    fn calendar_part(
        &self,
        kind: MessageKind,
        row: &OutboxMessage,
        facts: &Facts,
        lang: Lang,
        next: Option<&crate::domain::schedule::Occurrence>,
        now: DateTime<Utc>,
    ) -> Option<CalendarPart> {
        let method = match (kind, row.ical_method.as_deref()) {
            (MessageKind::Invitation | MessageKind::Update, _) => Method::Request,
            (MessageKind::Cancellation, Some("CANCEL")) => Method::Cancel,
            (MessageKind::Cancellation, Some("REQUEST")) => Method::Request,
            _ => return None,
        };
        let timing = facts.timing()?;
        let sequence = row.ical_sequence.unwrap_or_default();
        let event = self.event(facts, timing, sequence, method, lang, next);
        let ics = calendar::write(&calendar::Calendar {
            method: Some(method),
            prodid: PRODID,
            name: None,
            dtstamp: now,
            events: std::slice::from_ref(&event),
        });
        Some(CalendarPart {
            method: match method {
                Method::Request => "REQUEST",
                Method::Cancel => "CANCEL",
            },
            ics,
        })
    }

    /// The enrollment as one calendar event (the master of a series and its moved
    /// occurrences).
    pub fn event(
        &self,
        facts: &Facts,
        timing: Timing,
        sequence: i32,
        method: Method,
        lang: Lang,
        next: Option<&crate::domain::schedule::Occurrence>,
    ) -> calendar::Event {
        let fr = lang == Lang::Fr;
        let mut description = vec![facts.place.session.title.clone()];
        if let Some(bring) = &facts.place.session.what_to_bring {
            description.push(format!(
                "{} {bring}",
                if fr { "À apporter :" } else { "Bring:" }
            ));
        }
        let contact: Vec<&str> = [
            &facts.place.club.contact_phone,
            &facts.place.club.contact_email,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
        if !contact.is_empty() {
            description.push(format!(
                "Contact {} : {}",
                facts.place.club.name,
                contact.join(", ")
            ));
        }
        if let Some(next) = next.filter(|_| method == Method::Request) {
            let id = facts.enrollment.id;
            description.push(format!(
                "{} {}",
                if fr { "Je viens :" } else { "I'm coming:" },
                self.rsvp_url(id, next.key, Answer::Coming)
            ));
            description.push(format!(
                "{} {}",
                if fr {
                    "Je ne peux pas venir :"
                } else {
                    "I can't come:"
                },
                self.rsvp_url(id, next.key, Answer::NotComing)
            ));
        }
        description.push(format!(
            "{} {}",
            if fr { "Calendrier :" } else { "Calendar:" },
            self.feed_url(&facts.feed_token)
        ));
        let cancelled = method == Method::Cancel || timing.cancelled;
        calendar::Event {
            uid: enrollment_uid(facts.enrollment.id, &self.domain),
            sequence,
            summary: facts.summary(),
            description: description.join("\n"),
            location: facts.address(),
            geo: facts.place.club.latitude.zip(facts.place.club.longitude),
            url: None,
            timezone: facts.tz(),
            start_local: timing.start_local,
            duration_minutes: timing.duration_minutes,
            rrule: timing.rrule,
            last_start_local: timing.last_start_local,
            exdates_local: timing.exdates_local,
            overrides: timing.overrides,
            status: if cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            },
            organizer: Some(self.organizer.clone()),
            attendee: facts.participant.email.as_ref().map(|email| Person {
                name: facts.participant.first_name.clone(),
                email: email.clone(),
            }),
        }
    }
}

/// The occurrence a reminder is for, or why it is not sent (now or yet).
fn reminder_due(
    row: &OutboxMessage,
    facts: &Facts,
    declined: &HashSet<(Uuid, String)>,
    now: DateTime<Utc>,
) -> Result<crate::domain::schedule::Occurrence, Composed> {
    let skip = |why: &str| Err(Composed::Skip(why.into()));
    let Some(key) = row
        .occurrence_key
        .as_deref()
        .and_then(|k| k.parse::<OccurrenceKey>().ok())
    else {
        return skip("no occurrence");
    };
    if facts.place.session.status != crate::domain::schedule::SessionStatus::Published {
        return skip("session not published");
    }
    if facts.enrollment.status != crate::domain::places::EnrollmentStatus::Confirmed {
        return skip("enrollment not confirmed");
    }
    if !facts.place.schedule.has_occurrence(key) {
        return skip("occurrence no longer in the schedule");
    }
    let change = facts.place.overrides.iter().find(|o| o.key == key);
    let occurrence = facts.place.schedule.apply(key, 1, change);
    if occurrence.status == OccurrenceStatus::Cancelled {
        return skip("occurrence cancelled");
    }
    if declined.contains(&(facts.enrollment.id, key.to_string())) {
        return skip("said they cannot come");
    }
    if now >= occurrence.start {
        return skip("occurrence already started");
    }
    let due = occurrence.start - Duration::hours(facts.place.session.reminder_hours_before.into());
    if now < due {
        return Err(Composed::NotBefore(due));
    }
    Ok(occurrence)
}

pub const PRODID: &str = "-//Entourage Sport//Sessions//FR";

/// One UID per enrollment, for every object about it: invitations, updates, feeds.
pub fn enrollment_uid(enrollment_id: Uuid, domain: &str) -> String {
    format!("{}@{domain}", enrollment_id.simple())
}

/// The note an update or cancellation starts with, from the cause's detail
/// (`occurrence_cancelled:KEY`, `occurrence_moved:KEY`, `session_changed`, …).
fn change_note(lang: Lang, detail: &str, tz: chrono_tz::Tz) -> Option<String> {
    let fr = lang == Lang::Fr;
    let (what, key) = detail.split_once(':').unwrap_or((detail, ""));
    let on = key
        .parse::<OccurrenceKey>()
        .ok()
        .map(|k| written(lang, k.original_start().with_timezone(&tz).naive_local()));
    let note = match (what, on) {
        ("occurrence_cancelled", Some(on)) => {
            if fr {
                format!("La séance du {on} est annulée.")
            } else {
                format!("The session on {on} is cancelled.")
            }
        }
        ("occurrence_restored", Some(on)) => {
            if fr {
                format!("La séance du {on} a bien lieu finalement.")
            } else {
                format!("The session on {on} takes place after all.")
            }
        }
        ("occurrence_moved", Some(on)) => {
            if fr {
                format!("La séance prévue le {on} change d'horaire.")
            } else {
                format!("The session planned on {on} has a new time.")
            }
        }
        ("session_changed", _) => {
            if fr {
                "Les horaires ou le lieu de la séance ont changé.".to_owned()
            } else {
                "The time or place of the session has changed.".to_owned()
            }
        }
        ("session_cancelled", _) => {
            if fr {
                "Le club a annulé ces séances.".to_owned()
            } else {
                "The club has cancelled these sessions.".to_owned()
            }
        }
        ("enrollment_cancelled", _) => {
            if fr {
                "Votre inscription à ces séances est annulée.".to_owned()
            } else {
                "Your place in these sessions is cancelled.".to_owned()
            }
        }
        _ => return None,
    };
    Some(note)
}
