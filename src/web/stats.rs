//! `/app/stats`: the impact figures in the signed-in user's scope, for a period and a
//! grouping: headline figures, a chart drawn on the server, the table (the same as
//! `GET /api/v1/stats/encounters`) and its CSV. Readable without the chart; prints on
//! one page.

use chrono::{Datelike, Months, NaiveDate};
use minijinja::{context, Value};
use poem::http::{header, StatusCode};
use poem::web::Data;
use poem::{handler, Request, Response};

use super::chart::{self, MonthBar};
use super::forms::{Errors, Fields};
use super::session::SignedIn;
use super::view::{page, value, Frame, Lang};
use super::words;
use super::{PageError, PageResult};
use crate::domain::stats::{Figures, GroupBy, Period};
use crate::domain::FieldError;
use crate::ops::stats::{encounters, Encounters};
use crate::state::AppState;

/// Groups the horizontal chart draws; the table lists them all.
const CHART_GROUPS: usize = 15;

const FR_MONTHS: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];
const EN_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn today() -> NaiveDate {
    crate::clock::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
}

/// The period a form asks for: this year so far, last year, one month, or from–to.
fn period_of(f: &Fields, today: NaiveDate) -> Result<Period, FieldError> {
    let jan_first = |year: i32| NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
    match f.get("period") {
        "last_year" => Ok(Period {
            from: jan_first(today.year() - 1),
            to: jan_first(today.year()) - chrono::Duration::days(1),
        }),
        "month" => {
            let text = f
                .opt("month")
                .unwrap_or_else(|| today.format("%Y-%m").to_string());
            let first = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
                .map_err(|_| FieldError::new("month", "give a month, like 2026-03"))?;
            let last = first
                .checked_add_months(Months::new(1))
                .map(|d| d - chrono::Duration::days(1))
                .unwrap_or(first);
            Ok(Period {
                from: first,
                to: last,
            })
        }
        "custom" => Period::parse(f.opt("from").as_deref(), f.opt("to").as_deref(), today),
        _ => Ok(Period {
            from: jan_first(today.year()),
            to: today,
        }),
    }
}

/// `2026-03` → "mars".
fn month_name(lang: Lang, key: &str) -> String {
    let month = key
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| (1..=12).contains(m));
    match (month, lang) {
        (Some(m), Lang::Fr) => FR_MONTHS[m - 1].to_owned(),
        (Some(m), Lang::En) => EN_MONTHS[m - 1].to_owned(),
        (None, _) => key.to_owned(),
    }
}

/// `2026-03` → "mars 26".
fn month_label(lang: Lang, key: &str) -> String {
    match key.get(2..4) {
        Some(year) if key.len() == 7 => format!("{} {year}", month_name(lang, key)),
        _ => key.to_owned(),
    }
}

/// The label a group shows: months and situations in words, the rest as stored.
fn label(lang: Lang, by: GroupBy, f: &Figures) -> String {
    match by {
        GroupBy::Month => month_label(lang, &f.key),
        GroupBy::Situation => words::get(lang, &format!("situation_{}", f.key))
            .map(str::to_owned)
            .unwrap_or_else(|| f.label.clone()),
        GroupBy::Structure if f.key == crate::store::stats::WALK_IN_STRUCTURE => {
            words::get(lang, "walk_ins_short")
                .unwrap_or("walk-ins")
                .to_owned()
        }
        _ => f.label.clone(),
    }
}

fn rate(f: &Figures) -> Option<String> {
    f.attendance_rate().map(|r| format!("{:.0} %", r * 100.0))
}

fn row(lang: Lang, by: GroupBy, f: &Figures) -> Value {
    context! {
        label => label(lang, by, f),
        encounters => f.encounters(),
        participant_encounters => f.participant_encounters,
        walk_ins => f.walk_ins,
        unique => f.unique_participants,
        first => f.first_encounters,
        held => f.occurrences_held,
        rate => rate(f),
    }
}

fn year_before(d: NaiveDate) -> NaiveDate {
    d.checked_sub_months(Months::new(12)).unwrap_or(d)
}

/// The same period a year before, which the months' chart sets beside it.
fn a_year_before(period: Period) -> Period {
    Period {
        from: year_before(period.from),
        to: year_before(period.to),
    }
}

/// The chart of the figures: months beside the year before (`previous`, the same
/// period a year earlier by month), or the groups' bars.
fn chart_of(lang: Lang, found: &Encounters, previous: Option<&Encounters>) -> String {
    let w = |key: &str| words::get(lang, key).unwrap_or(key).to_owned();
    let Some(previous) = previous.filter(|_| found.by == GroupBy::Month) else {
        let rows: Vec<(String, i64)> = found
            .groups
            .iter()
            .take(CHART_GROUPS)
            .map(|g| (label(lang, found.by, g), g.encounters()))
            .collect();
        return chart::groups(&rows, &w("stats_chart_groups"));
    };
    let before = previous.period;
    let mut bars = Vec::new();
    let mut month = found.period.from.with_day(1).unwrap_or(found.period.from);
    while month <= found.period.to {
        let key = month.format("%Y-%m").to_string();
        let key_before = year_before(month).format("%Y-%m").to_string();
        let value = |list: &[Figures], key: &str| {
            list.iter()
                .find(|g| g.key == key)
                .map(Figures::encounters)
                .unwrap_or(0)
        };
        bars.push(MonthBar {
            // The years are in the legend.
            label: month_name(lang, &key),
            value: value(&found.groups, &key),
            previous: Some(value(&previous.groups, &key_before)),
        });
        month = match month.checked_add_months(Months::new(1)) {
            Some(next) => next,
            None => break,
        };
    }
    let span = |p: &Period| {
        if p.from.year() == p.to.year() {
            p.from.year().to_string()
        } else {
            format!("{}–{}", p.from.year(), p.to.year())
        }
    };
    chart::months(
        &bars,
        &w("stats_chart_months"),
        &span(&found.period),
        &span(&before),
    )
}

/// Groups a printed page lists: with the headline figures and the chart they fill one
/// A4 page (checked by printing in the browser test).
const PRINT_ROWS: usize = 25;

fn query_of(request: &Request) -> Fields {
    let mut f = Fields::query(request);
    if f.get("period").is_empty() {
        f.set("period", "this_year");
    }
    if f.get("group_by").is_empty() {
        f.set("group_by", "month");
    }
    f
}

#[handler]
pub async fn stats(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    let lang = me.lang;
    let f = query_of(request);
    let frame = Frame::of(&me, request);
    let (period, by) = match asked(&f) {
        Ok(asked) => asked,
        Err(error) => return Ok(asked_wrong(&frame, &me, &f, error)),
    };
    // The months' chart sets the year before beside them: both read at once.
    let previous = async {
        match by {
            GroupBy::Month => {
                let before = a_year_before(period);
                Ok(Some(
                    encounters(&state.store, &me.caller, before, by).await?,
                ))
            }
            _ => Ok(None),
        }
    };
    let (found, previous) =
        tokio::try_join!(encounters(&state.store, &me.caller, period, by), previous)?;
    let chart = chart_of(lang, &found, previous.as_ref());
    let csv_url = format!(
        "/app/stats.csv?{}",
        serde_urlencoded::to_string(&f).unwrap_or_default()
    );
    let t = &found.total;
    Ok(page(
        &frame,
        StatusCode::OK,
        "stats.html",
        context! {
            f => value(&f),
            errors => value(Errors::default()),
            groupings => groupings(),
            from => crate::mail::written_time::written_day(lang, period.from),
            to => crate::mail::written_time::written_day(lang, period.to),
            by => by.as_str(),
            headline => context! {
                encounters => t.encounters(),
                unique => t.unique_participants,
                first => t.first_encounters,
                rate => rate(t),
                held => t.occurrences_held,
            },
            rows => found.groups.iter().map(|g| row(lang, by, g)).collect::<Vec<_>>(),
            total => row(lang, by, t),
            chart => Value::from_safe_string(chart),
            csv_url => csv_url,
            print_rows => PRINT_ROWS,
            scope => me.user.role.as_str(),
        },
    ))
}

/// The period and grouping the form asks for; the first wrong field named.
fn asked(f: &Fields) -> Result<(Period, GroupBy), FieldError> {
    Ok((
        period_of(f, today())?,
        GroupBy::parse(Some(f.get("group_by")))?,
    ))
}

/// The form again, the wrong field named (422).
fn asked_wrong(frame: &Frame, me: &SignedIn, f: &Fields, error: FieldError) -> Response {
    let mut errors = Errors::default();
    errors.add(error);
    page(
        frame,
        StatusCode::UNPROCESSABLE_ENTITY,
        "stats.html",
        context! {
            f => value(f),
            errors => value(&errors),
            groupings => groupings(),
            scope => me.user.role.as_str(),
        },
    )
}

fn groupings() -> Vec<&'static str> {
    GroupBy::ALL.iter().map(|g| g.as_str()).collect()
}

/// The page's table as a CSV file, the API's columns.
#[handler]
pub async fn stats_csv(
    request: &Request,
    state: Data<&AppState>,
    me: SignedIn,
) -> Result<Response, PageError> {
    let f = query_of(request);
    // A link to the file with a wrong field gives the form back, as the page does.
    let (period, by) = match asked(&f) {
        Ok(asked) => asked,
        Err(error) => return Ok(asked_wrong(&Frame::of(&me, request), &me, &f, error)),
    };
    let found = encounters(&state.store, &me.caller, period, by).await?;
    let body = found.csv().map_err(PageError::Internal)?;
    Ok(Response::builder()
        .content_type("text/csv; charset=utf-8")
        .header(
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"encounters-{}-{}-{}.csv\"",
                by.as_str(),
                period.from,
                period.to
            ),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .body(body))
}
