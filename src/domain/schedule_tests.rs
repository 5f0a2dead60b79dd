use super::*;

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A local wall-clock time, `2026-03-10T18:30:00`.
fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").expect("local date-time")
}

/// A UTC instant, `2026-03-10T17:30:00`.
fn utc(s: &str) -> DateTime<Utc> {
    Utc.from_utc_datetime(&local(s))
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn key(s: &str) -> OccurrenceKey {
    s.parse().expect("occurrence key")
}

fn build(
    timezone: &str,
    start: &str,
    duration_minutes: i32,
    rrule: Option<&str>,
    exdates: &[NaiveDateTime],
) -> Result<Schedule, FieldError> {
    Schedule::new(&ScheduleSpec {
        timezone,
        start: local(start),
        duration_minutes,
        rrule,
        exdates,
    })
}

fn schedule(timezone: &str, start: &str, rrule: &str) -> Schedule {
    build(timezone, start, 90, Some(rrule), &[]).expect("valid schedule")
}

fn err_field(result: Result<Schedule, FieldError>) -> String {
    result.expect_err("the schedule should be rejected").field
}

fn keys(occurrences: &[Occurrence]) -> Vec<String> {
    occurrences.iter().map(|o| o.key.to_string()).collect()
}

fn starts(schedule: &Schedule, from: &str, to: &str) -> Vec<DateTime<Utc>> {
    schedule.planned_starts(utc(from), utc(to)).collect()
}

fn paris_tuesdays() -> Schedule {
    schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU",
    )
}

// ---------------------------------------------------------------------------
// Daylight-saving changes in Europe/Paris
// ---------------------------------------------------------------------------

#[test]
fn weekly_paris_keeps_local_time_across_spring_forward() {
    let s = paris_tuesdays();
    let got = starts(&s, "2026-03-20T00:00:00", "2026-04-10T00:00:00");
    assert_eq!(
        got,
        vec![
            utc("2026-03-24T17:30:00"), // +01:00
            utc("2026-03-31T16:30:00"), // +02:00 since 2026-03-29
            utc("2026-04-07T16:30:00"),
        ]
    );
    for start in &got {
        assert_eq!(
            start
                .with_timezone(&chrono_tz::Europe::Paris)
                .format("%H:%M")
                .to_string(),
            "18:30"
        );
    }
    let occ = s.occurrences(
        12,
        &[],
        utc("2026-03-20T00:00:00"),
        utc("2026-04-10T00:00:00"),
    );
    assert_eq!(
        keys(&occ),
        ["20260324T173000Z", "20260331T163000Z", "20260407T163000Z"]
    );
    assert!(occ
        .iter()
        .all(|o| o.status == OccurrenceStatus::Scheduled && o.capacity == 12));
    assert_eq!(occ[1].start, utc("2026-03-31T16:30:00"));
    assert_eq!(occ[1].end, utc("2026-03-31T18:00:00"));
}

#[test]
fn weekly_paris_keeps_local_time_across_fall_back() {
    let s = paris_tuesdays();
    let occ = s.occurrences(
        12,
        &[],
        utc("2026-10-15T00:00:00"),
        utc("2026-11-05T00:00:00"),
    );
    assert_eq!(
        keys(&occ),
        ["20261020T163000Z", "20261027T173000Z", "20261103T173000Z"]
    );
    assert_eq!(occ[0].start, utc("2026-10-20T16:30:00"));
    assert_eq!(occ[1].start, utc("2026-10-27T17:30:00"));
    for o in &occ {
        assert_eq!(
            o.start
                .with_timezone(&chrono_tz::Europe::Paris)
                .format("%H:%M")
                .to_string(),
            "18:30"
        );
    }
}

#[test]
fn weekly_paris_first_occurrences_and_first_start() {
    let s = paris_tuesdays();
    assert_eq!(s.first_start(), Some(utc("2026-03-10T17:30:00")));
    assert_eq!(
        starts(&s, "2026-01-01T00:00:00", "2026-03-25T00:00:00"),
        vec![
            utc("2026-03-10T17:30:00"),
            utc("2026-03-17T17:30:00"),
            utc("2026-03-24T17:30:00"),
        ]
    );
}

#[test]
fn planned_starts_window_is_half_open() {
    let s = paris_tuesdays();
    // `from` inclusive, `to` exclusive.
    assert_eq!(
        starts(&s, "2026-03-17T17:30:00", "2026-03-24T17:30:00"),
        vec![utc("2026-03-17T17:30:00")]
    );
    assert!(starts(&s, "2026-03-17T17:30:01", "2026-03-24T17:30:00").is_empty());
}

#[test]
fn single_start_in_spring_forward_gap_uses_offset_before_gap() {
    let s = build("Europe/Paris", "2026-03-29T02:30:00", 60, None, &[]).unwrap();
    let expected = utc("2026-03-29T01:30:00");
    assert_eq!(s.first_start(), Some(expected));
    assert_eq!(
        expected
            .with_timezone(&chrono_tz::Europe::Paris)
            .to_rfc3339(),
        "2026-03-29T03:30:00+02:00"
    );
    let occ = s.occurrences(
        5,
        &[],
        utc("2026-03-28T00:00:00"),
        utc("2026-03-30T00:00:00"),
    );
    assert_eq!(keys(&occ), ["20260329T013000Z"]);
    assert_eq!(occ[0].end, utc("2026-03-29T02:30:00"));
    assert!(s.is_finite());
}

#[test]
fn resolve_local_gap_and_ambiguity() {
    let paris = chrono_tz::Europe::Paris;
    assert_eq!(
        resolve_local(paris, local("2026-03-29T02:30:00")),
        utc("2026-03-29T01:30:00")
    );
    assert_eq!(
        resolve_local(paris, local("2026-03-29T02:00:00")),
        utc("2026-03-29T01:00:00")
    );
    // Just around the gap.
    assert_eq!(
        resolve_local(paris, local("2026-03-29T01:59:00")),
        utc("2026-03-29T00:59:00")
    );
    assert_eq!(
        resolve_local(paris, local("2026-03-29T03:00:00")),
        utc("2026-03-29T01:00:00")
    );
    // Ambiguous: first instant (+02:00).
    assert_eq!(
        resolve_local(paris, local("2026-10-25T02:30:00")),
        utc("2026-10-25T00:30:00")
    );
    assert_eq!(
        resolve_local(paris, local("2026-10-25T03:00:00")),
        utc("2026-10-25T02:00:00")
    );
}

#[test]
fn daily_0230_across_spring_forward_day() {
    let s = schedule("Europe/Paris", "2026-03-27T02:30:00", "FREQ=DAILY");
    let occ = s.occurrences(
        10,
        &[],
        utc("2026-03-27T00:00:00"),
        utc("2026-03-31T00:00:00"),
    );
    assert_eq!(
        keys(&occ),
        [
            "20260327T013000Z",
            "20260328T013000Z",
            "20260329T013000Z", // 02:30 does not exist: 03:30+02:00
            "20260330T003000Z",
        ]
    );
    assert_eq!(
        occ[2]
            .start
            .with_timezone(&chrono_tz::Europe::Paris)
            .to_rfc3339(),
        "2026-03-29T03:30:00+02:00"
    );
    assert!(s.has_occurrence(key("20260329T013000Z")));
    assert!(!s.has_occurrence(key("20260329T003000Z")));
}

#[test]
fn ambiguous_fall_back_start_takes_first_instant() {
    let s = build("Europe/Paris", "2026-10-25T02:30:00", 60, None, &[]).unwrap();
    assert_eq!(s.first_start(), Some(utc("2026-10-25T00:30:00")));
    assert_eq!(
        s.first_start()
            .unwrap()
            .with_timezone(&chrono_tz::Europe::Paris)
            .to_rfc3339(),
        "2026-10-25T02:30:00+02:00"
    );
    assert!(s.has_occurrence(key("20261025T003000Z")));
    assert!(!s.has_occurrence(key("20261025T013000Z")));
}

#[test]
fn daily_0230_across_fall_back_day() {
    let s = schedule("Europe/Paris", "2026-10-24T02:30:00", "FREQ=DAILY;COUNT=3");
    let got = starts(&s, "2026-10-01T00:00:00", "2026-11-01T00:00:00");
    assert_eq!(
        got,
        vec![
            utc("2026-10-24T00:30:00"),
            utc("2026-10-25T00:30:00"), // ambiguous: first instant
            utc("2026-10-26T01:30:00"),
        ]
    );
}

#[test]

fn gap_times_never_produce_duplicate_keys() {
    // 02:30 and 03:30 both exist as rule instances on 2026-03-29; 02:30 is in the gap and
    // is read as 03:30+02:00, the same instant as the 03:30 instance.
    let s = schedule(
        "Europe/Paris",
        "2026-03-28T02:30:00",
        "FREQ=DAILY;BYHOUR=2,3;BYMINUTE=30",
    );
    let occ = s.occurrences(
        10,
        &[],
        utc("2026-03-28T00:00:00"),
        utc("2026-03-30T00:00:00"),
    );
    assert_eq!(
        keys(&occ),
        ["20260328T013000Z", "20260328T023000Z", "20260329T013000Z"]
    );
}

#[test]
fn window_margin_covers_extreme_offsets() {
    // Kiritimati is +14:00: 08:00 local on the 10th is 18:00Z on the 9th.
    let s = schedule("Pacific/Kiritimati", "2026-03-10T08:00:00", "FREQ=DAILY");
    assert_eq!(
        starts(&s, "2026-03-09T17:00:00", "2026-03-09T19:00:00"),
        vec![utc("2026-03-09T18:00:00")]
    );
    assert!(s.has_occurrence(key("20260310T180000Z")));
    // Pago Pago is -11:00: 20:00 local on the 10th is 07:00Z on the 11th.
    let s = schedule("Pacific/Pago_Pago", "2026-03-10T20:00:00", "FREQ=DAILY");
    assert_eq!(
        starts(&s, "2026-03-11T06:00:00", "2026-03-11T08:00:00"),
        vec![utc("2026-03-11T07:00:00")]
    );
    assert!(s.has_occurrence(key("20260311T070000Z")));
}

// ---------------------------------------------------------------------------
// Zones without DST
// ---------------------------------------------------------------------------

#[test]
fn reunion_weekly_keeps_same_utc_time_all_year() {
    let s = schedule(
        "Indian/Reunion",
        "2026-01-06T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU",
    );
    let got = starts(&s, "2026-01-01T00:00:00", "2027-01-01T00:00:00");
    assert_eq!(got.len(), 52);
    let first = utc("2026-01-06T14:30:00");
    for (i, start) in got.iter().enumerate() {
        assert_eq!(*start, first + Duration::weeks(i as i64), "occurrence {i}");
    }
    assert!(got.contains(&utc("2026-03-31T14:30:00")));
    assert!(got.contains(&utc("2026-10-27T14:30:00")));
}

#[test]
fn cayenne_weekly_keeps_same_utc_time_all_year() {
    let s = schedule(
        "America/Cayenne",
        "2026-01-06T19:00:00",
        "FREQ=WEEKLY;BYDAY=TU",
    );
    let got = starts(&s, "2026-01-01T00:00:00", "2027-01-01T00:00:00");
    assert_eq!(got.len(), 52);
    let first = utc("2026-01-06T22:00:00");
    for (i, start) in got.iter().enumerate() {
        assert_eq!(*start, first + Duration::weeks(i as i64), "occurrence {i}");
    }
    assert!(s.has_occurrence(key("20260707T220000Z")));
}

// ---------------------------------------------------------------------------
// Rule shapes
// ---------------------------------------------------------------------------

#[test]
fn monthly_second_saturday() {
    let s = schedule(
        "Europe/Paris",
        "2026-01-10T10:00:00",
        "FREQ=MONTHLY;BYDAY=2SA",
    );
    assert_eq!(
        starts(&s, "2026-01-01T00:00:00", "2026-07-01T00:00:00"),
        vec![
            utc("2026-01-10T09:00:00"),
            utc("2026-02-14T09:00:00"),
            utc("2026-03-14T09:00:00"),
            utc("2026-04-11T08:00:00"),
            utc("2026-05-09T08:00:00"),
            utc("2026-06-13T08:00:00"),
        ]
    );
}

#[test]
fn monthly_last_weekday_bysetpos() {
    let s = schedule(
        "Europe/Paris",
        "2026-01-30T19:00:00",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    );
    assert_eq!(
        starts(&s, "2026-01-01T00:00:00", "2026-07-01T00:00:00"),
        vec![
            utc("2026-01-30T18:00:00"), // Sat 31st -> Fri 30th
            utc("2026-02-27T18:00:00"), // Sat 28th -> Fri 27th
            utc("2026-03-31T17:00:00"),
            utc("2026-04-30T17:00:00"),
            utc("2026-05-29T17:00:00"), // Sun 31st -> Fri 29th
            utc("2026-06-30T17:00:00"),
        ]
    );
}

#[test]
fn count_limits_occurrences_and_makes_rule_finite() {
    let s = schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU;COUNT=4",
    );
    assert!(s.is_finite());
    assert_eq!(
        starts(&s, "2026-01-01T00:00:00", "2030-01-01T00:00:00"),
        vec![
            utc("2026-03-10T17:30:00"),
            utc("2026-03-17T17:30:00"),
            utc("2026-03-24T17:30:00"),
            utc("2026-03-31T16:30:00"),
        ]
    );
    assert!(!s.has_occurrence(key("20260407T163000Z")));
}

#[test]
fn until_in_utc_is_inclusive_and_read_in_local_time() {
    // 2026-06-30T16:30:00Z is 18:30 in Paris: the last occurrence is included.
    let s = schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630T163000Z",
    );
    assert!(s.is_finite());
    let got = starts(&s, "2026-01-01T00:00:00", "2030-01-01T00:00:00");
    assert_eq!(got.len(), 17);
    assert_eq!(got.last(), Some(&utc("2026-06-30T16:30:00")));

    // One second earlier excludes it.
    let s = schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630T162959Z",
    );
    let got = starts(&s, "2026-01-01T00:00:00", "2030-01-01T00:00:00");
    assert_eq!(got.len(), 16);
    assert_eq!(got.last(), Some(&utc("2026-06-23T16:30:00")));
}

#[test]
fn until_in_utc_uses_zone_offset_not_floating_utc() {
    // Réunion is +04:00: 18:30 local is 14:30Z. An UNTIL of 15:00Z (19:00 local) must keep
    // the 2026-06-30 occurrence; a floating reading (15:00 local) would drop it.
    let s = schedule(
        "Indian/Reunion",
        "2026-06-02T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630T150000Z",
    );
    assert_eq!(
        starts(&s, "2026-01-01T00:00:00", "2030-01-01T00:00:00").last(),
        Some(&utc("2026-06-30T14:30:00"))
    );
    // And an UNTIL of 14:00Z (18:00 local) drops it.
    let s = schedule(
        "Indian/Reunion",
        "2026-06-02T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630T140000Z",
    );
    assert_eq!(
        starts(&s, "2026-01-01T00:00:00", "2030-01-01T00:00:00").last(),
        Some(&utc("2026-06-23T14:30:00"))
    );
}

#[test]
fn until_bare_date_means_the_whole_local_day() {
    let s = schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630",
    );
    assert!(s.is_finite());
    let got = starts(&s, "2026-01-01T00:00:00", "2030-01-01T00:00:00");
    assert_eq!(got.len(), 17);
    assert_eq!(got.first(), Some(&utc("2026-03-10T17:30:00")));
    assert_eq!(got.last(), Some(&utc("2026-06-30T16:30:00")));

    let s = schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260629",
    );
    assert_eq!(
        starts(&s, "2026-01-01T00:00:00", "2030-01-01T00:00:00").last(),
        Some(&utc("2026-06-23T16:30:00"))
    );
}

#[test]
fn until_bare_date_on_the_start_day_keeps_only_the_start() {
    let s = schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260310",
    );
    assert_eq!(
        starts(&s, "2026-01-01T00:00:00", "2030-01-01T00:00:00"),
        vec![utc("2026-03-10T17:30:00")]
    );
}

#[test]
fn interval_two_weeks() {
    let s = schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
    );
    assert_eq!(
        starts(&s, "2026-03-01T00:00:00", "2026-05-01T00:00:00"),
        vec![
            utc("2026-03-10T17:30:00"),
            utc("2026-03-24T17:30:00"),
            utc("2026-04-07T16:30:00"),
            utc("2026-04-21T16:30:00"),
        ]
    );
    assert!(!s.has_occurrence(key("20260317T173000Z")));
    assert!(!s.is_finite());
}

#[test]
fn exdates_remove_local_occurrences() {
    let exdates = [local("2026-03-24T18:30:00"), local("2026-04-07T18:30:00")];
    let s = build(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        90,
        Some("FREQ=WEEKLY;BYDAY=TU"),
        &exdates,
    )
    .unwrap();
    assert_eq!(
        starts(&s, "2026-03-01T00:00:00", "2026-04-15T00:00:00"),
        vec![
            utc("2026-03-10T17:30:00"),
            utc("2026-03-17T17:30:00"),
            utc("2026-03-31T16:30:00"),
            utc("2026-04-14T16:30:00"),
        ]
    );
    assert!(!s.has_occurrence(key("20260324T173000Z")));
    assert!(s.has_occurrence(key("20260331T163000Z")));
}

#[test]
fn exdate_not_matching_local_time_removes_nothing() {
    // The EXDATE is in local time; the UTC time of the same occurrence does not match it.
    let exdates = [local("2026-03-24T17:30:00")];
    let s = build(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        90,
        Some("FREQ=WEEKLY;BYDAY=TU"),
        &exdates,
    )
    .unwrap();
    assert!(s.has_occurrence(key("20260324T173000Z")));
}

#[test]
fn exdate_applies_after_count() {
    // RFC 5545: COUNT counts the rule's instances; EXDATE removes from that set.
    let exdates = [local("2026-03-17T18:30:00")];
    let s = build(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        90,
        Some("FREQ=WEEKLY;BYDAY=TU;COUNT=3"),
        &exdates,
    )
    .unwrap();
    assert_eq!(
        starts(&s, "2026-01-01T00:00:00", "2030-01-01T00:00:00"),
        vec![utc("2026-03-10T17:30:00"), utc("2026-03-24T17:30:00")]
    );
}

#[test]
fn exdate_on_first_occurrence_moves_first_start() {
    let exdates = [local("2026-03-10T18:30:00")];
    let s = build(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        90,
        Some("FREQ=WEEKLY;BYDAY=TU"),
        &exdates,
    )
    .unwrap();
    assert_eq!(s.first_start(), Some(utc("2026-03-17T17:30:00")));
}

#[test]
fn exdates_excluding_everything_are_rejected() {
    let exdates = [local("2026-03-10T18:30:00")];
    let r = build(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        90,
        Some("FREQ=WEEKLY;BYDAY=TU;COUNT=1"),
        &exdates,
    );
    assert_eq!(err_field(r), "exdates");
    let r = build("Europe/Paris", "2026-03-10T18:30:00", 90, None, &exdates);
    assert_eq!(err_field(r), "exdates");
}

#[test]
fn rrule_prefix_and_blank_rule_are_accepted() {
    let s = schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "RRULE:FREQ=WEEKLY;BYDAY=TU",
    );
    assert!(s.has_occurrence(key("20260317T173000Z")));
    // A blank rule means a single session.
    let s = build("Europe/Paris", "2026-03-10T18:30:00", 90, Some("  "), &[]).unwrap();
    assert!(s.is_finite());
    assert_eq!(
        starts(&s, "2026-01-01T00:00:00", "2030-01-01T00:00:00"),
        vec![utc("2026-03-10T17:30:00")]
    );
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

#[test]
fn unknown_timezone_is_rejected() {
    let r = build("Europe/Atlantis", "2026-03-10T18:30:00", 90, None, &[]);
    assert_eq!(err_field(r), "timezone");
    assert_eq!(parse_timezone("").unwrap_err().field, "timezone");
    assert_eq!(
        parse_timezone("Europe/Paris").unwrap(),
        chrono_tz::Europe::Paris
    );
}

#[test]
fn unparsable_rule_is_rejected() {
    for rule in [
        "FREQ=FORTNIGHTLY",
        "not a rule",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;COUNT=abc",
    ] {
        let r = build("Europe/Paris", "2026-03-10T18:30:00", 90, Some(rule), &[]);
        assert_eq!(err_field(r), "rrule", "{rule}");
    }
}

#[test]
fn sub_daily_frequencies_are_rejected() {
    for rule in ["FREQ=HOURLY", "FREQ=MINUTELY", "FREQ=SECONDLY"] {
        let r = build("Europe/Paris", "2026-03-10T18:30:00", 90, Some(rule), &[]);
        assert_eq!(err_field(r), "rrule", "{rule}");
    }
}

#[test]
fn rule_yielding_nothing_is_rejected() {
    let r = build(
        "Europe/Paris",
        "2026-02-28T10:00:00",
        90,
        Some("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
        &[],
    );
    assert_eq!(err_field(r), "rrule");
}

#[test]
fn start_not_matching_rule_is_rejected() {
    // 2026-03-11 is a Wednesday.
    let r = build(
        "Europe/Paris",
        "2026-03-11T18:30:00",
        90,
        Some("FREQ=WEEKLY;BYDAY=TU"),
        &[],
    );
    let err = r.unwrap_err();
    assert_eq!(err.field, "start");
    assert!(
        err.message.contains("2026-03-17T18:30:00"),
        "{}",
        err.message
    );
    // 2026-01-03 is the first, not the second, Saturday.
    let r = build(
        "Europe/Paris",
        "2026-01-03T10:00:00",
        90,
        Some("FREQ=MONTHLY;BYDAY=2SA"),
        &[],
    );
    assert_eq!(err_field(r), "start");
}

#[test]
fn rrule_with_dtstart_is_rejected() {
    for rule in [
        "DTSTART:20260310T183000\nRRULE:FREQ=WEEKLY;BYDAY=TU",
        "DTSTART=20260310T183000;FREQ=WEEKLY;BYDAY=TU",
        "FREQ=WEEKLY;BYDAY=TU;dtstart=20260310T183000",
    ] {
        let r = build("Europe/Paris", "2026-03-10T18:30:00", 90, Some(rule), &[]);
        assert_eq!(err_field(r), "rrule", "{rule:?}");
    }
}

#[test]
fn duration_outside_range_is_rejected() {
    for minutes in [i32::MIN, -1, 0, 14, 601, 10_000] {
        let r = build("Europe/Paris", "2026-03-10T18:30:00", minutes, None, &[]);
        assert_eq!(err_field(r), "duration_minutes", "{minutes}");
        assert!(check_duration(minutes).is_err());
    }
    for minutes in [15, 90, 600] {
        let s = build("Europe/Paris", "2026-03-10T18:30:00", minutes, None, &[]).unwrap();
        assert_eq!(s.duration(), Duration::minutes(minutes.into()));
        assert!(check_duration(minutes).is_ok());
    }
}

#[test]
fn capacity_outside_range_is_rejected() {
    for places in [i32::MIN, -5, 0, 501, 1000] {
        assert_eq!(
            check_capacity("capacity", places).unwrap_err().field,
            "capacity",
            "{places}"
        );
    }
    assert_eq!(check_capacity("places", 0).unwrap_err().field, "places");
    for places in [1, 20, 500] {
        assert!(check_capacity("capacity", places).is_ok(), "{places}");
    }
}

#[test]
fn start_more_than_five_years_ahead_is_rejected() {
    let today = date("2026-01-15");
    assert!(check_start_within_reach("start", local("2031-01-15T23:59:59"), today).is_ok());
    assert!(check_start_within_reach("start", local("2026-01-15T00:00:00"), today).is_ok());
    assert!(check_start_within_reach("start", local("2020-01-01T00:00:00"), today).is_ok());
    let err = check_start_within_reach("start", local("2031-01-16T00:00:00"), today).unwrap_err();
    assert_eq!(err.field, "start");
    let err = check_start_within_reach("start", local("2040-01-01T00:00:00"), today).unwrap_err();
    assert_eq!(err.field, "start");
}

#[test]
fn start_within_reach_from_leap_day() {
    let today = date("2028-02-29");
    assert!(check_start_within_reach("start", local("2033-02-28T12:00:00"), today).is_ok());
    assert!(check_start_within_reach("start", local("2033-03-01T00:00:00"), today).is_err());
}

// ---------------------------------------------------------------------------
// Overrides
// ---------------------------------------------------------------------------

#[test]
fn cancelled_occurrence_keeps_its_place() {
    let s = paris_tuesdays();
    let mut cancel = Override::new(key("20260331T163000Z"));
    cancel.cancelled = true;
    let occ = s.occurrences(
        12,
        &[cancel],
        utc("2026-03-20T00:00:00"),
        utc("2026-04-10T00:00:00"),
    );
    assert_eq!(
        keys(&occ),
        ["20260324T173000Z", "20260331T163000Z", "20260407T163000Z"]
    );
    assert_eq!(occ[0].status, OccurrenceStatus::Scheduled);
    assert_eq!(occ[1].status, OccurrenceStatus::Cancelled);
    assert_eq!(occ[1].start, utc("2026-03-31T16:30:00"));
    assert_eq!(occ[2].status, OccurrenceStatus::Scheduled);
}

#[test]
fn moved_occurrence_keeps_its_key() {
    let s = paris_tuesdays();
    let mut moved = Override::new(key("20260331T163000Z"));
    moved.start = Some(utc("2026-04-01T17:00:00"));
    let occ = s.occurrences(
        12,
        &[moved],
        utc("2026-03-20T00:00:00"),
        utc("2026-04-10T00:00:00"),
    );
    assert_eq!(occ.len(), 3);
    let m = occ
        .iter()
        .find(|o| o.key == key("20260331T163000Z"))
        .unwrap();
    assert_eq!(m.status, OccurrenceStatus::Moved);
    assert_eq!(m.start, utc("2026-04-01T17:00:00"));
    assert_eq!(m.end, utc("2026-04-01T18:30:00"));
    assert_eq!(m.key.original_start(), utc("2026-03-31T16:30:00"));
    // Still sorted by (moved) start.
    let sorted: Vec<_> = occ.iter().map(|o| o.start).collect();
    let mut expected = sorted.clone();
    expected.sort();
    assert_eq!(sorted, expected);
}

#[test]
fn moved_past_the_next_occurrence_is_sorted_by_new_start() {
    let s = paris_tuesdays();
    let mut moved = Override::new(key("20260324T173000Z"));
    moved.start = Some(utc("2026-04-02T16:00:00"));
    let occ = s.occurrences(
        12,
        &[moved],
        utc("2026-03-20T00:00:00"),
        utc("2026-04-10T00:00:00"),
    );
    assert_eq!(
        keys(&occ),
        ["20260331T163000Z", "20260324T173000Z", "20260407T163000Z"]
    );
}

#[test]
fn duration_override_marks_occurrence_moved() {
    let s = paris_tuesdays();
    let mut longer = Override::new(key("20260324T173000Z"));
    longer.duration_minutes = Some(120);
    let occ = s.occurrences(
        12,
        &[longer],
        utc("2026-03-20T00:00:00"),
        utc("2026-03-25T00:00:00"),
    );
    assert_eq!(occ.len(), 1);
    assert_eq!(occ[0].status, OccurrenceStatus::Moved);
    assert_eq!(occ[0].start, utc("2026-03-24T17:30:00"));
    assert_eq!(occ[0].end, utc("2026-03-24T19:30:00"));
}

#[test]
fn occurrence_moved_into_window_from_outside() {
    let s = paris_tuesdays();
    let mut moved = Override::new(key("20260414T163000Z"));
    moved.start = Some(utc("2026-04-02T16:00:00"));
    let occ = s.occurrences(
        12,
        &[moved],
        utc("2026-03-30T00:00:00"),
        utc("2026-04-10T00:00:00"),
    );
    assert_eq!(
        keys(&occ),
        ["20260331T163000Z", "20260414T163000Z", "20260407T163000Z"]
    );
    assert_eq!(occ[1].status, OccurrenceStatus::Moved);
    assert_eq!(occ[1].start, utc("2026-04-02T16:00:00"));
}

#[test]
fn occurrence_moved_out_of_window() {
    let s = paris_tuesdays();
    let mut moved = Override::new(key("20260407T163000Z"));
    moved.start = Some(utc("2026-04-20T16:00:00"));
    let occ = s.occurrences(
        12,
        &[moved.clone()],
        utc("2026-03-30T00:00:00"),
        utc("2026-04-10T00:00:00"),
    );
    assert_eq!(keys(&occ), ["20260331T163000Z"]);
    // It shows up in the window it was moved to.
    let occ = s.occurrences(
        12,
        &[moved],
        utc("2026-04-15T00:00:00"),
        utc("2026-04-25T00:00:00"),
    );
    assert_eq!(keys(&occ), ["20260407T163000Z", "20260421T163000Z"]);
    assert_eq!(occ[0].start, utc("2026-04-20T16:00:00"));
    assert_eq!(occ[0].status, OccurrenceStatus::Moved);
}

#[test]
fn override_for_unknown_key_is_ignored() {
    let s = paris_tuesdays();
    let mut stray = Override::new(key("20260401T163000Z")); // a Wednesday
    stray.start = Some(utc("2026-04-02T16:00:00"));
    let occ = s.occurrences(
        12,
        &[stray],
        utc("2026-03-30T00:00:00"),
        utc("2026-04-10T00:00:00"),
    );
    assert_eq!(keys(&occ), ["20260331T163000Z", "20260407T163000Z"]);
}

#[test]
fn capacity_override_applies_to_one_occurrence() {
    let s = paris_tuesdays();
    let mut bigger = Override::new(key("20260331T163000Z"));
    bigger.capacity = Some(30);
    let occ = s.occurrences(
        12,
        &[bigger],
        utc("2026-03-20T00:00:00"),
        utc("2026-04-10T00:00:00"),
    );
    let caps: Vec<i32> = occ.iter().map(|o| o.capacity).collect();
    assert_eq!(caps, [12, 30, 12]);
    assert!(occ.iter().all(|o| o.status == OccurrenceStatus::Scheduled));
}

#[test]
fn override_noop() {
    let o = Override::new(key("20260331T163000Z"));
    assert!(o.is_noop());
    let mut c = o.clone();
    c.capacity = Some(3);
    assert!(!c.is_noop());
    let mut c = o.clone();
    c.cancelled = true;
    assert!(!c.is_noop());
    let mut c = o.clone();
    c.start = Some(utc("2026-04-01T10:00:00"));
    assert!(!c.is_noop());
    let mut c = o;
    c.duration_minutes = Some(60);
    assert!(!c.is_noop());
}

#[test]
fn orphaned_overrides_after_rule_change() {
    let overrides = vec![
        Override {
            cancelled: true,
            ..Override::new(key("20260317T173000Z"))
        },
        Override {
            capacity: Some(4),
            ..Override::new(key("20260324T173000Z"))
        },
        Override {
            start: Some(utc("2026-04-01T10:00:00")),
            ..Override::new(key("20260331T163000Z"))
        },
    ];
    let before = paris_tuesdays();
    assert!(before.orphaned_overrides(&overrides).is_empty());

    // Now every other week: 03-17 and 03-31 are gone.
    let after = schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
    );
    let orphans: Vec<String> = after
        .orphaned_overrides(&overrides)
        .iter()
        .map(|o| o.key.to_string())
        .collect();
    assert_eq!(orphans, ["20260317T173000Z", "20260331T163000Z"]);

    // Moving the session to 19:00 orphans them all.
    let later = schedule(
        "Europe/Paris",
        "2026-03-10T19:00:00",
        "FREQ=WEEKLY;BYDAY=TU",
    );
    assert_eq!(later.orphaned_overrides(&overrides).len(), 3);
}

#[test]
fn has_occurrence() {
    let s = paris_tuesdays();
    assert!(s.has_occurrence(key("20260310T173000Z")));
    assert!(s.has_occurrence(key("20261027T173000Z")));
    assert!(s.has_occurrence(key("20291225T173000Z"))); // far ahead, winter time
    assert!(!s.has_occurrence(key("20260303T173000Z"))); // before the start
    assert!(!s.has_occurrence(key("20260310T173001Z"))); // off by one second
    assert!(!s.has_occurrence(key("20260331T173000Z"))); // winter time after the change
    assert!(!s.has_occurrence(key("20260311T173000Z"))); // a Wednesday

    let single = build("Europe/Paris", "2026-03-10T18:30:00", 90, None, &[]).unwrap();
    assert!(single.has_occurrence(key("20260310T173000Z")));
    assert!(!single.has_occurrence(key("20260317T173000Z")));
}

#[test]
fn is_finite() {
    assert!(!paris_tuesdays().is_finite());
    assert!(schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU;COUNT=2"
    )
    .is_finite());
    assert!(schedule(
        "Europe/Paris",
        "2026-03-10T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630T000000Z"
    )
    .is_finite());
    assert!(build("Europe/Paris", "2026-03-10T18:30:00", 90, None, &[])
        .unwrap()
        .is_finite());
}

#[test]
fn first_start() {
    assert_eq!(
        paris_tuesdays().first_start(),
        Some(utc("2026-03-10T17:30:00"))
    );
    let summer = schedule(
        "Europe/Paris",
        "2026-07-07T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU",
    );
    assert_eq!(summer.first_start(), Some(utc("2026-07-07T16:30:00")));
    let reunion = build("Indian/Reunion", "2026-07-07T18:30:00", 90, None, &[]).unwrap();
    assert_eq!(reunion.first_start(), Some(utc("2026-07-07T14:30:00")));
    assert_eq!(reunion.timezone(), chrono_tz::Indian::Reunion);
}

// ---------------------------------------------------------------------------
// Occurrence keys
// ---------------------------------------------------------------------------

#[test]
fn occurrence_key_round_trip() {
    let k = OccurrenceKey::new(utc("2026-03-10T17:30:00"));
    assert_eq!(k.to_string(), "20260310T173000Z");
    assert_eq!("20260310T173000Z".parse::<OccurrenceKey>().unwrap(), k);
    assert_eq!(k.original_start(), utc("2026-03-10T17:30:00"));
    for s in ["20261027T173000Z", "20000101T000000Z", "20281231T235959Z"] {
        assert_eq!(key(s).to_string(), s);
    }
}

#[test]
fn occurrence_key_rejects_malformed() {
    for s in [
        "",
        "20260310T173000",
        "20260310173000Z",
        "2026-03-10T17:30:00Z",
        "20260310T173000+0100",
        "20261310T173000Z",
        "20260230T173000Z",
        "20260310T253000Z",
        "20260310T173000Z ",
        " 20260310T173000Z",
        "20260310T173000ZZ",
        "2026031T1730000Z",
        "abcdefghijklmnop",
    ] {
        let err = s.parse::<OccurrenceKey>().expect_err(s);
        assert_eq!(err.field, "key", "{s:?}");
    }
}

#[test]
fn occurrence_status_strings() {
    for status in [
        OccurrenceStatus::Scheduled,
        OccurrenceStatus::Moved,
        OccurrenceStatus::Cancelled,
    ] {
        assert_eq!(OccurrenceStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(OccurrenceStatus::parse("Cancelled"), None);
    assert_eq!(OccurrenceStatus::parse(""), None);
}

// ---------------------------------------------------------------------------
// Materialisation
// ---------------------------------------------------------------------------

#[test]
fn materialize_covers_history_and_horizon() {
    // Réunion has no DST, so occurrences are exactly one week apart in UTC.
    let s = schedule(
        "Indian/Reunion",
        "2024-01-02T18:30:00",
        "FREQ=WEEKLY;BYDAY=TU",
    );
    let now = utc("2026-06-01T12:00:00");
    let (occ, until) = materialize(&s, 8, &[], now);
    let from = now - Duration::days(400);
    assert_eq!(until, now + Duration::days(548));
    assert_eq!(from, utc("2025-04-27T12:00:00"));
    assert_eq!(until, utc("2027-12-01T12:00:00"));

    let first_ever = utc("2024-01-02T14:30:00");
    let expected: Vec<DateTime<Utc>> = (0..)
        .map(|w| first_ever + Duration::weeks(w))
        .skip_while(|t| *t < from)
        .take_while(|t| *t < until)
        .collect();
    let got: Vec<DateTime<Utc>> = occ.iter().map(|o| o.start).collect();
    assert_eq!(got, expected);
    assert_eq!(got.first(), Some(&utc("2025-04-29T14:30:00")));
    assert_eq!(got.last(), Some(&utc("2027-11-30T14:30:00")));
    assert!(occ
        .iter()
        .all(|o| o.capacity == 8 && o.status == OccurrenceStatus::Scheduled));
}

#[test]
fn materialize_applies_overrides() {
    let s = paris_tuesdays();
    let now = utc("2026-04-01T00:00:00");
    let overrides = [
        Override {
            cancelled: true,
            ..Override::new(key("20260407T163000Z"))
        },
        Override {
            capacity: Some(2),
            ..Override::new(key("20260310T173000Z"))
        },
    ];
    let (occ, _) = materialize(&s, 8, &overrides, now);
    assert_eq!(occ[0].key, key("20260310T173000Z"));
    assert_eq!(occ[0].capacity, 2);
    let cancelled = occ
        .iter()
        .find(|o| o.key == key("20260407T163000Z"))
        .unwrap();
    assert_eq!(cancelled.status, OccurrenceStatus::Cancelled);
    assert!(occ.last().unwrap().start < now + Duration::days(548));
    assert!(occ.last().unwrap().start >= now + Duration::days(541));
}

#[test]
fn a_start_moved_earlier_keeps_enrollments_on_their_day() {
    let rule = "FREQ=WEEKLY;BYDAY=TU;COUNT=4";
    let old = schedule("Europe/Paris", "2027-02-02T18:30:00", rule);
    let new = schedule("Europe/Paris", "2027-02-02T18:00:00", rule);
    let first = key("20270202T173000Z");
    let moved = key("20270202T170000Z");
    assert_eq!(new.rekey(&old, first, false), Some(moved));
    assert_eq!(new.rekey(&old, first, true), Some(moved));
    assert_eq!(
        old.rekey(&old, first, true),
        Some(first),
        "unchanged keys stay"
    );
    let thursdays = schedule(
        "Europe/Paris",
        "2027-02-04T18:00:00",
        "FREQ=WEEKLY;BYDAY=TH;COUNT=4",
    );
    assert_eq!(
        thursdays.rekey(&old, first, true),
        None,
        "no Tuesday any more"
    );
    assert_eq!(
        thursdays.rekey(&old, first, false),
        Some(key("20270204T170000Z"))
    );
}

#[test]
fn a_rule_with_letters_outside_ascii_is_refused_not_a_panic() {
    let refused = build(
        "Europe/Paris",
        "2026-10-17T10:00:00",
        90,
        Some("FREQ=WEEKLY;BYDAY=éa"),
        &[],
    );
    assert_eq!(err_field(refused), "rrule");
}
