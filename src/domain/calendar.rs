//! iCalendar (RFC 5545) rendering of match invitations and feeds.
//!
//! Everything here is pure: the caller supplies the clock (`dtstamp`) and the
//! data, and gets back the complete text. The only shared state is a cache of
//! rendered VTIMEZONE blocks, because deriving them from the tz database is the
//! one costly step and the same few zones are rendered for every email.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// iTIP method of the object. Feeds (subscriptions) must not carry a METHOD,
/// which is why `Calendar::method` is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Request,
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Confirmed,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// One moved or resized occurrence of a series. `recurrence_id_local` must be
/// the occurrence's original local start, because that is how clients match
/// the override to the occurrence the RRULE generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOverride {
    pub recurrence_id_local: NaiveDateTime,
    pub start_local: NaiveDateTime,
    pub duration_minutes: i32,
}

/// All local times are wall-clock times in `timezone`, because that is what a
/// recurring match keeps constant across DST changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub uid: String,
    pub sequence: i32,
    pub summary: String,
    pub description: String,
    pub location: String,
    pub geo: Option<(f64, f64)>,
    pub url: Option<String>,
    pub timezone: Tz,
    pub start_local: NaiveDateTime,
    pub duration_minutes: i32,
    pub rrule: Option<String>,
    pub last_start_local: Option<NaiveDateTime>,
    pub exdates_local: Vec<NaiveDateTime>,
    pub overrides: Vec<EventOverride>,
    pub status: EventStatus,
    pub organizer: Option<Person>,
    pub attendee: Option<Person>,
}

#[derive(Debug, Clone, Copy)]
pub struct Calendar<'a> {
    pub method: Option<Method>,
    pub prodid: &'a str,
    pub name: Option<&'a str>,
    pub dtstamp: DateTime<Utc>,
    pub events: &'a [Event],
}

/// How far an open-ended series is assumed to run when deciding which years
/// of tz rules to describe; clients extrapolate the last yearly rule beyond.
const OPEN_ENDED_YEARS: i32 = 10;

/// Renders the whole VCALENDAR object, CRLF line endings and folding included.
pub fn write(calendar: &Calendar<'_>) -> String {
    let mut out = String::with_capacity(4096);
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(
        &mut out,
        &format!("PRODID:{}", escape_text(calendar.prodid)),
    );
    line(&mut out, "CALSCALE:GREGORIAN");
    if let Some(method) = calendar.method {
        let m = match method {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        };
        line(&mut out, &format!("METHOD:{m}"));
    }
    if let Some(name) = calendar.name {
        line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));
    }

    // One VTIMEZONE per zone, covering the union of the years its events use,
    // in order of first use so the output is deterministic.
    let mut zones: Vec<(Tz, i32, i32)> = Vec::new();
    for event in calendar.events {
        let (first, last) = event_years(event);
        match zones.iter_mut().find(|(tz, _, _)| *tz == event.timezone) {
            Some(z) => {
                z.1 = z.1.min(first);
                z.2 = z.2.max(last);
            }
            None => zones.push((event.timezone, first, last)),
        }
    }
    for (tz, first, last) in zones {
        out.push_str(&vtimezone(tz, first, last));
    }

    let dtstamp = format!("DTSTAMP:{}", calendar.dtstamp.format("%Y%m%dT%H%M%SZ"));
    for event in calendar.events {
        write_event(&mut out, event, &dtstamp);
    }
    line(&mut out, "END:VCALENDAR");
    out
}

fn write_event(out: &mut String, event: &Event, dtstamp: &str) {
    let tzid = param_value(event.timezone.name(), false);
    let master = Occurrence {
        recurrence_id: None,
        start: event.start_local,
        duration_minutes: event.duration_minutes,
    };
    write_vevent(out, event, &tzid, dtstamp, &master);
    for o in &event.overrides {
        let occurrence = Occurrence {
            recurrence_id: Some(o.recurrence_id_local),
            start: o.start_local,
            duration_minutes: o.duration_minutes,
        };
        write_vevent(out, event, &tzid, dtstamp, &occurrence);
    }
}

struct Occurrence {
    recurrence_id: Option<NaiveDateTime>,
    start: NaiveDateTime,
    duration_minutes: i32,
}

fn write_vevent(out: &mut String, event: &Event, tzid: &str, dtstamp: &str, occ: &Occurrence) {
    let is_master = occ.recurrence_id.is_none();
    line(out, "BEGIN:VEVENT");
    line(out, &format!("UID:{}", escape_text(&event.uid)));
    line(out, &format!("SEQUENCE:{}", event.sequence));
    line(out, dtstamp);
    if let Some(rid) = occ.recurrence_id {
        line(
            out,
            &format!("RECURRENCE-ID;TZID={tzid}:{}", local_stamp(rid)),
        );
    }
    line(
        out,
        &format!("DTSTART;TZID={tzid}:{}", local_stamp(occ.start)),
    );
    let end = local_end(event.timezone, occ.start, occ.duration_minutes);
    line(out, &format!("DTEND;TZID={tzid}:{}", local_stamp(end)));
    if is_master {
        if let Some(rrule) = &event.rrule {
            line(out, &format!("RRULE:{}", strip_controls(rrule)));
        }
        if !event.exdates_local.is_empty() {
            let mut dates = event.exdates_local.clone();
            dates.sort();
            dates.dedup();
            let list: Vec<String> = dates.into_iter().map(local_stamp).collect();
            line(out, &format!("EXDATE;TZID={tzid}:{}", list.join(",")));
        }
    }
    line(out, &format!("SUMMARY:{}", escape_text(&event.summary)));
    if !event.description.is_empty() {
        line(
            out,
            &format!("DESCRIPTION:{}", escape_text(&event.description)),
        );
    }
    if !event.location.is_empty() {
        line(out, &format!("LOCATION:{}", escape_text(&event.location)));
    }
    if let Some((lat, lon)) = event
        .geo
        .filter(|(lat, lon)| lat.is_finite() && lon.is_finite())
    {
        line(out, &format!("GEO:{lat:.6};{lon:.6}"));
    }
    if let Some(url) = &event.url {
        line(out, &format!("URL:{}", strip_controls(url)));
    }
    let status = match event.status {
        EventStatus::Confirmed => "CONFIRMED",
        EventStatus::Cancelled => "CANCELLED",
    };
    line(out, &format!("STATUS:{status}"));
    if let Some(p) = &event.organizer {
        line(
            out,
            &format!(
                "ORGANIZER;CN={}:mailto:{}",
                param_value(&p.name, true),
                strip_controls(&p.email)
            ),
        );
    }
    if let Some(p) = &event.attendee {
        line(
            out,
            &format!(
                "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:{}",
                param_value(&p.name, true),
                strip_controls(&p.email)
            ),
        );
    }
    line(out, "TRANSP:OPAQUE");
    line(out, "END:VEVENT");
}

/// Years whose tz rules the event touches, so the VTIMEZONE stays small but
/// still covers every occurrence (including ends that spill into a new year).
fn event_years(event: &Event) -> (i32, i32) {
    let end_year = |start: NaiveDateTime, minutes: i32| {
        (start + Duration::minutes(i64::from(minutes.max(0)))).year()
    };
    let first = event.start_local.year();
    let mut last = end_year(event.start_local, event.duration_minutes);
    match (event.rrule.is_some(), event.last_start_local) {
        (_, Some(l)) => last = last.max(end_year(l, event.duration_minutes)),
        (true, None) => last = last.max(first + OPEN_ENDED_YEARS),
        (false, None) => {}
    }
    for o in &event.overrides {
        last = last.max(end_year(o.start_local, o.duration_minutes));
        last = last.max(o.recurrence_id_local.year());
    }
    (first, last)
}

/// DTEND is computed on the timeline, not the wall clock, so a 90-minute match
/// on a DST night still lasts 90 minutes in every client.
fn local_end(tz: Tz, start: NaiveDateTime, minutes: i32) -> NaiveDateTime {
    let start = resolve_local(tz, start);
    (start + Duration::minutes(i64::from(minutes.max(0)))).naive_local()
}

/// RFC 5545 §3.3.5: an ambiguous local time means its first occurrence, and a
/// local time inside a gap is read with the offset in force before the gap.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Tz> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(dt) => dt,
        LocalResult::Ambiguous(earliest, _) => earliest,
        LocalResult::None => {
            let before = tz.offset_from_utc_datetime(&(local - Duration::days(1)));
            let utc = local - Duration::seconds(i64::from(before.fix().local_minus_utc()));
            tz.from_utc_datetime(&utc)
        }
    }
}

fn local_stamp(dt: NaiveDateTime) -> String {
    dt.format("%Y%m%dT%H%M%S").to_string()
}

/// TEXT escaping (§3.3.11). Control characters other than TAB are dropped
/// because they are not allowed and a bare CR could end the content line.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Values that are not TEXT (URI, RRULE, e-mail) have no escaping at all, so
/// the only safe thing is to make sure they cannot break out of their line.
fn strip_controls(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// §3.2: DQUOTE can never appear in a parameter value, and `:`, `;`, `,`
/// require quoting. CN is always quoted because display names often contain
/// such characters and some clients mis-read unquoted names with spaces.
fn param_value(s: &str, always_quote: bool) -> String {
    let clean: String = s.chars().filter(|&c| c != '"' && !c.is_control()).collect();
    if always_quote || clean.contains([':', ';', ',']) {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// Appends one content line, folded at 75 octets (§3.1) without splitting a
/// UTF-8 sequence. A fold is also kept from landing right after a space,
/// because several parsers (the `ical` crate among them) trim trailing
/// whitespace from physical lines and would lose that space.
fn line(out: &mut String, content: &str) {
    let mut rest = content;
    let mut limit = 75;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let trimmed = rest[..cut].trim_end_matches([' ', '\t']).len();
        if trimmed > 0 && rest.is_char_boundary(trimmed) {
            // Cutting before the trailing blanks keeps them on the next line.
            cut = trimmed;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = 74;
    }
}

// ---------------------------------------------------------------------------
// VTIMEZONE
// ---------------------------------------------------------------------------

type VtimezoneCache = HashMap<(Tz, i32, i32), Arc<str>>;

/// Rendered blocks keyed by (zone, first year, last year). Bounded so that a
/// stream of unusual spans cannot grow it forever.
fn vtimezone(tz: Tz, first: i32, last: i32) -> Arc<str> {
    static CACHE: OnceLock<Mutex<VtimezoneCache>> = OnceLock::new();
    const MAX_ENTRIES: usize = 4096;
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (tz, first, last);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return hit;
    }
    let text: Arc<str> = render_vtimezone(tz, first, last).into();
    if let Ok(mut c) = cache.lock() {
        if c.len() >= MAX_ENTRIES {
            c.clear();
        }
        c.insert(key, text.clone());
    }
    text
}

/// One change of UTC offset, as found in chrono-tz.
#[derive(Debug, Clone)]
struct Transition {
    /// UTC instant of the change.
    at: NaiveDateTime,
    /// Local wall time just before the change (the VTIMEZONE DTSTART).
    local: NaiveDateTime,
    from: i32,
    to: i32,
    daylight: bool,
    name: Option<String>,
}

impl Transition {
    /// Everything but the day that must be equal for two years to share a
    /// yearly rule.
    fn rule_key(&self) -> (bool, i32, i32, Option<&str>, u32, Weekday, u32) {
        (
            self.daylight,
            self.from,
            self.to,
            self.name.as_deref(),
            self.local.month(),
            self.local.weekday(),
            self.local.num_seconds_from_midnight(),
        )
    }

    /// Which BYDAY positions describe this day: bit n (1..=5) for "nth from
    /// the start", bit 0 for "last of the month". A day can match both, so a
    /// run keeps the intersection and picks one at the end.
    fn positions(&self) -> u8 {
        let day = self.local.day();
        let nth = 1u8 << ((day - 1) / 7 + 1);
        let last = if day + 7 > days_in_month(self.local.year(), self.local.month()) {
            1
        } else {
            0
        };
        nth | last
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day())
}

fn offset_at(tz: Tz, utc: NaiveDateTime) -> i32 {
    tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()
}

/// DAYLIGHT vs STANDARD and TZNAME of the offset in force at `utc`.
fn offset_details(tz: Tz, utc: NaiveDateTime) -> (bool, Option<String>) {
    let o = tz.offset_from_utc_datetime(&utc);
    (
        !o.dst_offset().is_zero(),
        o.abbreviation().map(str::to_owned),
    )
}

/// Offset changes between two UTC instants: a daily scan, then bisection to
/// the second. Restarting the scan at each change catches two changes within
/// one day; only a change that is undone within the same day would be missed.
fn transitions(tz: Tz, from: NaiveDateTime, to: NaiveDateTime) -> Vec<Transition> {
    let mut found = Vec::new();
    let mut lo = from;
    let mut lo_offset = offset_at(tz, lo);
    while lo < to {
        let hi = (lo + Duration::days(1)).min(to);
        let hi_offset = offset_at(tz, hi);
        if hi_offset == lo_offset {
            lo = hi;
            continue;
        }
        // Invariant: offset(a) == lo_offset, offset(b) != lo_offset.
        let (mut a, mut b) = (lo, hi);
        while (b - a).num_seconds() > 1 {
            let mid = a + (b - a) / 2;
            if offset_at(tz, mid) == lo_offset {
                a = mid;
            } else {
                b = mid;
            }
        }
        let to_offset = offset_at(tz, b);
        let (daylight, name) = offset_details(tz, b);
        found.push(Transition {
            at: b,
            local: b + Duration::seconds(i64::from(lo_offset)),
            from: lo_offset,
            to: to_offset,
            daylight,
            name,
        });
        lo = b;
        lo_offset = to_offset;
    }
    found
}

/// Consecutive-year transitions that share one yearly BYMONTH/BYDAY rule.
struct Run {
    items: Vec<Transition>,
    positions: u8,
}

fn render_vtimezone(tz: Tz, first: i32, last: i32) -> String {
    let year_start = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .unwrap_or(NaiveDate::MIN)
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
    };
    // One extra year on each side tells whether an in-span transition belongs
    // to a rule that was already running or keeps running after the span.
    let scan_from = year_start(first - 1) - Duration::days(1);
    let scan_to = year_start(last + 2) + Duration::days(1);
    let all = transitions(tz, scan_from, scan_to);

    let mut runs: Vec<Run> = Vec::new();
    for t in all {
        let year = t.local.year();
        if year < first - 1 || year > last + 1 {
            continue;
        }
        let key = t.rule_key();
        let positions = t.positions();
        let extend = runs.iter_mut().find(|r| {
            let prev = &r.items[r.items.len() - 1];
            prev.rule_key() == key && prev.local.year() + 1 == year && r.positions & positions != 0
        });
        match extend {
            Some(r) => {
                r.positions &= positions;
                r.items.push(t);
            }
            None => runs.push(Run {
                items: vec![t],
                positions,
            }),
        }
    }

    let mut blocks: Vec<(NaiveDateTime, String)> = Vec::new();
    for run in &runs {
        let in_span: Vec<&Transition> = run
            .items
            .iter()
            .filter(|t| (first..=last).contains(&t.local.year()))
            .collect();
        let (Some(&head), Some(&tail)) = (in_span.first(), in_span.last()) else {
            continue;
        };
        let continues = run.items[run.items.len() - 1].local.year() > last;
        if run.items.len() >= 2 {
            let byday = byday(run.positions, head.local);
            let mut rule = format!(
                "RRULE:FREQ=YEARLY;BYMONTH={};BYDAY={byday}",
                head.local.month()
            );
            if !continues {
                let _ = write!(rule, ";UNTIL={}Z", local_stamp(tail.at));
            }
            blocks.push((head.at, sub_component(head, Some(&rule))));
        } else {
            blocks.push((head.at, sub_component(head, None)));
        }
    }

    let mut out = String::new();
    line(&mut out, "BEGIN:VTIMEZONE");
    line(&mut out, &format!("TZID:{}", tz.name()));
    if blocks.is_empty() {
        // No change in the span: a fixed offset, stated the way every client
        // accepts (a STANDARD block starting at the epoch).
        let offset = offset_at(tz, year_start(first));
        let (_, name) = offset_details(tz, year_start(first));
        let fixed = Transition {
            at: year_start(1970),
            local: year_start(1970),
            from: offset,
            to: offset,
            daylight: false,
            name,
        };
        out.push_str(&sub_component(&fixed, None));
    } else {
        blocks.sort_by_key(|b| b.0);
        for (_, block) in blocks {
            out.push_str(&block);
        }
    }
    line(&mut out, "END:VTIMEZONE");
    out
}

fn byday(positions: u8, local: NaiveDateTime) -> String {
    let wd = match local.weekday() {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    };
    // "Last" is preferred: it is how the tz rules that vary between the 4th
    // and 5th week (the EU ones) are written, and clients know it best.
    if positions & 1 != 0 {
        format!("-1{wd}")
    } else {
        format!("{}{wd}", positions.trailing_zeros())
    }
}

fn sub_component(t: &Transition, rrule: Option<&str>) -> String {
    let kind = if t.daylight { "DAYLIGHT" } else { "STANDARD" };
    let mut out = String::new();
    line(&mut out, &format!("BEGIN:{kind}"));
    line(&mut out, &format!("DTSTART:{}", local_stamp(t.local)));
    line(&mut out, &format!("TZOFFSETFROM:{}", utc_offset(t.from)));
    line(&mut out, &format!("TZOFFSETTO:{}", utc_offset(t.to)));
    if let Some(name) = &t.name {
        line(&mut out, &format!("TZNAME:{}", escape_text(name)));
    }
    if let Some(rule) = rrule {
        line(&mut out, rule);
    }
    line(&mut out, &format!("END:{kind}"));
    out
}

/// UTC-OFFSET (§3.3.14); seconds only when present, as with pre-1900 LMT.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
