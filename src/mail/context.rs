//! Data handed to the e-mail templates.
//!
//! Discretion rule: nothing in a [`MailContext`] may describe the
//! participant's situation. `summary` is "sport — club", nothing else.

use chrono::NaiveDate;
use serde::Serialize;

use super::lang::Lang;
use super::written_time::{weekday_recurrence, written};

pub use crate::domain::messages::MessageKind;

/// Everything a template may show. All fields are always present in the
/// template context (`None` becomes `none`), so templates test options with
/// `{% if map_url %}`.
#[derive(Clone, Debug, Serialize)]
pub struct MailContext {
    pub kind: MessageKind,
    pub lang: Lang,
    /// Who the e-mail is addressed to (participant's first name, or the
    /// social worker's name for a copy / a delivery failure notice).
    pub recipient_name: String,
    /// `Some("Amina K.")` when this is a copy sent to the social worker for
    /// that participant (and, for `DeliveryFailed`, the participant concerned).
    pub copy_for: Option<String>,
    /// "Football — AS Bondy" (sport — club). Never anything else.
    pub summary: String,
    pub session_title: String,
    /// Written-out local date ("mardi 10 mars 2026 à 18 h 30"); first
    /// occurrence for a series.
    pub when: String,
    /// Already localised ("chaque mardi" / "every Tuesday").
    pub recurrence: Option<String>,
    pub duration_minutes: i32,
    pub address: String,
    pub map_url: Option<String>,
    pub what_to_bring: Option<String>,
    pub coach_name: Option<String>,
    pub club_name: String,
    pub club_phone: Option<String>,
    pub club_email: Option<String>,
    pub rsvp_yes_url: Option<String>,
    pub rsvp_no_url: Option<String>,
    /// Personal calendar subscription link.
    pub feed_url: Option<String>,
    /// For updates / cancellations: what changed, already localised.
    pub change_note: Option<String>,
    pub waitlist_position: Option<i64>,
    /// For `AbsenceAlert`: the sessions missed in a row, written out, oldest first.
    pub missed: Vec<String>,
    /// For `DeliveryFailed` and `AbsenceAlert`: the participant's code.
    pub participant_code: Option<String>,
    /// For `DeliveryFailed`: which message could not be delivered.
    pub failed_kind: Option<MessageKind>,
    /// For `SignIn`: the single-use link that signs the user in.
    pub sign_in_url: Option<String>,
}

impl MailContext {
    /// Realistic sample data for previews and load-time template checks.
    pub fn sample(kind: MessageKind, lang: Lang) -> Self {
        let first = NaiveDate::from_ymd_opt(2026, 3, 10)
            .and_then(|d| d.and_hms_opt(18, 30, 0))
            .expect("valid sample date");
        let fr = lang == Lang::Fr;
        let pick = |f: &str, e: &str| if fr { f.to_owned() } else { e.to_owned() };
        let for_referrer = matches!(
            kind,
            MessageKind::DeliveryFailed | MessageKind::AbsenceAlert
        );
        let is_failure = kind == MessageKind::DeliveryFailed;
        let is_sign_in = kind == MessageKind::SignIn;
        let for_referrer = for_referrer || is_sign_in;
        let participant_facing = !for_referrer;

        MailContext {
            kind,
            lang,
            recipient_name: if for_referrer {
                "Claire".to_owned()
            } else {
                "Amina".to_owned()
            },
            copy_for: (for_referrer && !is_sign_in).then(|| "Amina K.".to_owned()),
            summary: "Football — AS Bondy".to_owned(),
            session_title: pick("Football loisir du mardi soir", "Tuesday evening football"),
            when: written(lang, first),
            recurrence: Some(weekday_recurrence(lang, chrono::Weekday::Tue)),
            duration_minutes: 90,
            address: "Stade Léo-Lagrange, 12 rue de la République, 93140 Bondy".to_owned(),
            map_url: Some(
                "https://www.openstreetmap.org/?mlat=48.90220&mlon=2.48280#map=17/48.90220/2.48280"
                    .to_owned(),
            ),
            what_to_bring: Some(pick(
                "Une tenue de sport, des baskets et une bouteille d'eau.",
                "Sports clothes, trainers and a bottle of water.",
            )),
            coach_name: Some("Karim".to_owned()),
            club_name: "AS Bondy".to_owned(),
            club_phone: Some("01 48 47 00 00".to_owned()),
            club_email: Some("contact@asbondy.example".to_owned()),
            rsvp_yes_url: participant_facing
                .then(|| "https://sport.example.org/r/7f3a9c/yes".to_owned()),
            rsvp_no_url: participant_facing
                .then(|| "https://sport.example.org/r/7f3a9c/no".to_owned()),
            feed_url: participant_facing
                .then(|| "https://sport.example.org/cal/k2v8q4.ics".to_owned()),
            change_note: match kind {
                MessageKind::Update => Some(pick(
                    "La séance du mardi 17 mars commence à 19 h au lieu de 18 h 30.",
                    "The session on Tuesday 17 March starts at 7 pm instead of 6:30 pm.",
                )),
                MessageKind::Cancellation => Some(pick(
                    "La séance du mardi 10 mars 2026 est annulée.",
                    "The session on Tuesday 10 March 2026 is cancelled.",
                )),
                _ => None,
            },
            waitlist_position: (kind == MessageKind::Waitlisted).then_some(3),
            missed: if kind == MessageKind::AbsenceAlert {
                vec![
                    written(lang, first - chrono::Duration::weeks(1)),
                    written(lang, first),
                ]
            } else {
                Vec::new()
            },
            participant_code: (for_referrer && !is_sign_in).then(|| "P-4821".to_owned()),
            failed_kind: is_failure.then_some(MessageKind::Invitation),
            sign_in_url: is_sign_in
                .then(|| "https://sport.example.org/login/3q2-7wEVr1s0KhLFdkGbA4x".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_round_trip() {
        for k in MessageKind::ALL {
            assert_eq!(MessageKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(MessageKind::parse("nope"), None);
        assert_eq!(MessageKind::DeliveryFailed.as_str(), "delivery_failed");
    }

    #[test]
    fn sample_is_localised() {
        let fr = MailContext::sample(MessageKind::Reminder, Lang::Fr);
        assert_eq!(fr.when, "mardi 10 mars 2026 à 18 h 30");
        assert_eq!(fr.recurrence.as_deref(), Some("chaque mardi"));
        let en = MailContext::sample(MessageKind::Reminder, Lang::En);
        assert_eq!(en.when, "Tuesday 10 March 2026 at 6:30 pm");
        let failed = MailContext::sample(MessageKind::DeliveryFailed, Lang::Fr);
        assert_eq!(failed.copy_for.as_deref(), Some("Amina K."));
        assert!(failed.rsvp_yes_url.is_none());
    }
}
