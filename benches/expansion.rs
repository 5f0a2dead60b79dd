//! The pure expansion of a session's rule, without HTTP or a database:
//! `Schedule::new` + `Schedule::occurrences` over a 31-day window (what listing one
//! session's occurrences costs), and `materialize` (what creating or changing a session
//! costs before its rows are written: 400 days back to 548 days ahead).
//!
//! `cargo bench --bench expansion`. The clock is fixed so figures stay comparable.

use std::hint::black_box;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

use entourage_sport::domain::schedule::{materialize, Schedule, ScheduleSpec};

/// "Today" for every case: 2026-11-27 10:00 UTC.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap()
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_opt(h, min, 0))
        .expect("a valid local time")
}

struct Case {
    name: &'static str,
    start: NaiveDateTime,
    rrule: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        // Tuesday 18:30 Paris, started a few weeks ago (the typical session).
        Case {
            name: "weekly_tu_paris",
            start: local(2026, 9, 1, 18, 30),
            rrule: "FREQ=WEEKLY;BYDAY=TU",
        },
        // Second Saturday of each month, 10:00 Paris.
        Case {
            name: "monthly_2sa",
            start: local(2026, 9, 12, 10, 0),
            rrule: "FREQ=MONTHLY;BYDAY=2SA",
        },
        // Every day at 09:00 Paris since a year ago: the rule is walked from its start.
        Case {
            name: "daily_since_a_year",
            start: local(2025, 11, 27, 9, 0),
            rrule: "FREQ=DAILY",
        },
    ]
}

fn spec(case: &Case) -> ScheduleSpec<'_> {
    ScheduleSpec {
        timezone: "Europe/Paris",
        start: case.start,
        duration_minutes: 90,
        rrule: Some(case.rrule),
        exdates: &[],
    }
}

fn window_31_days(c: &mut Criterion) {
    let from = now() + Duration::days(7);
    let to = from + Duration::days(31);
    let mut group = c.benchmark_group("new+occurrences_31d");
    for case in cases() {
        let spec = spec(&case);
        let found = Schedule::new(&spec)
            .expect("valid case")
            .occurrences(8, &[], from, to)
            .len();
        group.bench_with_input(
            BenchmarkId::new(case.name, format!("{found}_occ")),
            &spec,
            |b, spec| {
                b.iter(|| {
                    let schedule = Schedule::new(black_box(spec)).expect("valid case");
                    black_box(schedule.occurrences(8, &[], black_box(from), black_box(to)))
                })
            },
        );
    }
    group.finish();
}

fn schedule_new_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("new");
    for case in cases() {
        let spec = spec(&case);
        group.bench_with_input(BenchmarkId::from_parameter(case.name), &spec, |b, spec| {
            b.iter(|| black_box(Schedule::new(black_box(spec)).expect("valid case")))
        });
    }
    group.finish();
}

fn materialize_horizon(c: &mut Criterion) {
    let mut group = c.benchmark_group("materialize");
    for case in cases() {
        let schedule = Schedule::new(&spec(&case)).expect("valid case");
        let rows = materialize(&schedule, 8, &[], now()).0.len();
        group.bench_with_input(
            BenchmarkId::new(case.name, format!("{rows}_rows")),
            &schedule,
            |b, schedule| {
                b.iter(|| black_box(materialize(black_box(schedule), 8, &[], black_box(now()))))
            },
        );
    }
    group.finish();
}

criterion_group!(
    benches,
    window_31_days,
    schedule_new_only,
    materialize_horizon
);
criterion_main!(benches);
