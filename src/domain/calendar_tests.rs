use super::*;

use std::io::BufReader;

use ical::parser::ical::component::{IcalCalendar, IcalTimeZoneTransitionType};
use ical::property::Property;

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

fn dt(y: i32, m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, mi, 0)
        .unwrap()
}

fn stamp() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 12, 30, 15).unwrap()
}

const SUMMARY: &str = "Football — AS Bondy, terrain 2; entrée\nporte B\\";

fn event(tz: Tz) -> Event {
    Event {
        uid: "match-42@entourage-sport.example".into(),
        sequence: 3,
        summary: SUMMARY.into(),
        description:
            "Rendez-vous à 9h45, vestiaires côté est.\nApportez crampons, gourde; bonne humeur!"
                .into(),
        location: "Stade Léo Lagrange, 93140 Bondy".into(),
        geo: Some((48.9021, 2.4826)),
        url: Some("https://entourage-sport.example/m/42?a=1&b=2".into()),
        timezone: tz,
        start_local: dt(2026, 9, 5, 10, 0),
        duration_minutes: 90,
        rrule: None,
        last_start_local: None,
        exdates_local: vec![],
        overrides: vec![],
        status: EventStatus::Confirmed,
        organizer: Some(Person {
            name: "Club \"Les Aigles\", Bondy".into(),
            email: "coach@entourage-sport.example".into(),
        }),
        attendee: Some(Person {
            name: "Zoé Müller".into(),
            email: "zoe@example.org".into(),
        }),
    }
}

fn render(method: Option<Method>, events: &[Event]) -> String {
    write(&Calendar {
        method,
        prodid: "-//Entourage Sport//Invitations//FR",
        name: None,
        dtstamp: stamp(),
        events,
    })
}

fn parse(text: &str) -> IcalCalendar {
    let mut parser = ical::IcalParser::new(BufReader::new(text.as_bytes()));
    let cal = parser.next().expect("one calendar").expect("parses");
    assert!(parser.next().is_none(), "exactly one VCALENDAR");
    cal
}

fn prop<'a>(props: &'a [Property], name: &str) -> &'a Property {
    let found: Vec<&Property> = props.iter().filter(|p| p.name == name).collect();
    assert_eq!(found.len(), 1, "exactly one {name} in {props:?}");
    found[0]
}

fn value(props: &[Property], name: &str) -> String {
    prop(props, name).value.clone().unwrap_or_default()
}

fn has(props: &[Property], name: &str) -> bool {
    props.iter().any(|p| p.name == name)
}

fn param(p: &Property, key: &str) -> Option<String> {
    p.params
        .as_ref()?
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.join(","))
}

/// The ical crate leaves TEXT escapes in place.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(other) => out.push(other),
                None => panic!("dangling backslash in {s:?}"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn physical_lines(text: &str) -> Vec<&[u8]> {
    let bytes = text.as_bytes();
    assert!(bytes.ends_with(b"\r\n"), "last line must end with CRLF");
    let body = &bytes[..bytes.len() - 2];
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    for l in &lines[..lines.len() - 1] {
        assert!(l.ends_with(b"\r"), "LF without CR");
    }
    lines
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in text.split("\r\n").filter(|l| !l.is_empty()) {
        if let Some(rest) = l.strip_prefix(' ') {
            out.last_mut().expect("continuation first").push_str(rest);
        } else {
            out.push(l.to_string());
        }
    }
    out
}

// ---------------------------------------------------------------------------
// 1. round trip through the ical parser
// ---------------------------------------------------------------------------

#[test]
fn round_trip_properties_and_text() {
    let e = event(chrono_tz::Europe::Paris);
    let text = write(&Calendar {
        method: Some(Method::Request),
        prodid: "-//Entourage Sport//Invitations//FR",
        name: Some("Matchs, saison 2026; équipe A"),
        dtstamp: stamp(),
        events: std::slice::from_ref(&e),
    });
    let cal = parse(&text);

    assert_eq!(value(&cal.properties, "VERSION"), "2.0");
    assert_eq!(
        value(&cal.properties, "PRODID"),
        "-//Entourage Sport//Invitations//FR"
    );
    assert_eq!(value(&cal.properties, "CALSCALE"), "GREGORIAN");
    assert_eq!(value(&cal.properties, "METHOD"), "REQUEST");
    assert_eq!(
        unescape(&value(&cal.properties, "X-WR-CALNAME")),
        "Matchs, saison 2026; équipe A"
    );

    assert_eq!(cal.timezones.len(), 1);
    assert_eq!(value(&cal.timezones[0].properties, "TZID"), "Europe/Paris");
    assert!(!cal.timezones[0].transitions.is_empty());
    // VTIMEZONE precedes the events that refer to it.
    assert!(text.find("BEGIN:VTIMEZONE").unwrap() < text.find("BEGIN:VEVENT").unwrap());

    assert_eq!(cal.events.len(), 1);
    let p = &cal.events[0].properties;
    assert_eq!(value(p, "UID"), e.uid);
    assert_eq!(value(p, "SEQUENCE"), "3");
    assert_eq!(value(p, "DTSTAMP"), "20260504T123015Z");
    assert_eq!(value(p, "DTSTART"), "20260905T100000");
    assert_eq!(
        param(prop(p, "DTSTART"), "TZID").as_deref(),
        Some("Europe/Paris")
    );
    assert_eq!(value(p, "DTEND"), "20260905T113000");
    assert_eq!(
        param(prop(p, "DTEND"), "TZID").as_deref(),
        Some("Europe/Paris")
    );
    assert!(!has(p, "RRULE"));
    assert!(!has(p, "EXDATE"));
    assert!(!has(p, "RECURRENCE-ID"));
    assert_eq!(unescape(&value(p, "SUMMARY")), SUMMARY);
    assert_eq!(unescape(&value(p, "DESCRIPTION")), e.description);
    assert_eq!(unescape(&value(p, "LOCATION")), e.location);
    assert_eq!(value(p, "GEO"), "48.902100;2.482600");
    assert_eq!(
        value(p, "URL"),
        "https://entourage-sport.example/m/42?a=1&b=2"
    );
    assert_eq!(value(p, "STATUS"), "CONFIRMED");
    assert_eq!(value(p, "TRANSP"), "OPAQUE");

    let org = prop(p, "ORGANIZER");
    assert_eq!(param(org, "CN").as_deref(), Some("Club Les Aigles, Bondy"));
    assert_eq!(
        org.value.as_deref(),
        Some("mailto:coach@entourage-sport.example")
    );
    let att = prop(p, "ATTENDEE");
    assert_eq!(param(att, "CN").as_deref(), Some("Zoé Müller"));
    assert_eq!(param(att, "ROLE").as_deref(), Some("REQ-PARTICIPANT"));
    assert_eq!(param(att, "PARTSTAT").as_deref(), Some("NEEDS-ACTION"));
    assert_eq!(param(att, "RSVP").as_deref(), Some("FALSE"));
    assert_eq!(att.value.as_deref(), Some("mailto:zoe@example.org"));

    // The raw escaped form, as the RFC wants it.
    assert!(unfold(&text)
        .contains(&"SUMMARY:Football — AS Bondy\\, terrain 2\\; entrée\\nporte B\\\\".into()));
    let attendee = "ATTENDEE;CN=\"Zoé Müller\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;\
                    RSVP=FALSE:mailto:zoe@example.org";
    assert!(unfold(&text).iter().any(|l| l == attendee));
}

#[test]
fn feed_has_no_method_and_one_vtimezone_per_zone() {
    let mut a = event(chrono_tz::Europe::Paris);
    let mut b = event(chrono_tz::Indian::Reunion);
    let mut c = event(chrono_tz::Europe::Paris);
    a.uid = "a".into();
    b.uid = "b".into();
    c.uid = "c".into();
    c.start_local = dt(2029, 1, 10, 20, 0);
    let events = [a, b, c];
    let text = write(&Calendar {
        method: None,
        prodid: "-//Entourage Sport//Feed//FR",
        name: Some("Entourage Sport"),
        dtstamp: stamp(),
        events: &events,
    });
    let cal = parse(&text);
    assert!(!has(&cal.properties, "METHOD"));
    assert_eq!(value(&cal.properties, "X-WR-CALNAME"), "Entourage Sport");
    let tzids: Vec<String> = cal
        .timezones
        .iter()
        .map(|z| value(&z.properties, "TZID"))
        .collect();
    assert_eq!(tzids, ["Europe/Paris", "Indian/Reunion"]);
    let uids: Vec<String> = cal
        .events
        .iter()
        .map(|e| value(&e.properties, "UID"))
        .collect();
    assert_eq!(uids, ["a", "b", "c"]);
    // Paris covers both the 2026 and the 2029 event.
    let paris = evaluator_for(&text, "Europe/Paris");
    check_zone(&paris, chrono_tz::Europe::Paris, 2026, 2029);
}

#[test]
fn output_is_stable_across_calls() {
    let e = event(chrono_tz::America::New_York);
    let first = render(Some(Method::Request), std::slice::from_ref(&e));
    let second = render(Some(Method::Request), std::slice::from_ref(&e));
    assert_eq!(first, second);
    assert_eq!(
        render_vtimezone(chrono_tz::America::New_York, 2026, 2026),
        *vtimezone(chrono_tz::America::New_York, 2026, 2026)
    );
}

#[test]
fn values_cannot_inject_lines_or_break_parameters() {
    let mut e = event(chrono_tz::Europe::Paris);
    e.uid = "evil\r\nATTENDEE:mailto:x@y".into();
    e.url = Some("https://x.example/\r\nORGANIZER:mailto:x@y".into());
    e.rrule = Some("FREQ=WEEKLY\nEXDATE:20260101T000000".into());
    e.attendee = Some(Person {
        name: "A \"B\"\r\nC: D".into(),
        email: "a@b.c\r\nX-EVIL:1".into(),
    });
    let text = render(None, std::slice::from_ref(&e));
    for l in unfold(&text) {
        assert!(!l.starts_with("X-EVIL"), "{l}");
        assert!(!l.starts_with("EXDATE"), "{l}");
    }
    let cal = parse(&text);
    let p = &cal.events[0].properties;
    assert_eq!(unescape(&value(p, "UID")), "evil\nATTENDEE:mailto:x@y");
    assert_eq!(
        prop(p, "ORGANIZER").value.as_deref(),
        Some("mailto:coach@entourage-sport.example")
    );
    assert_eq!(param(prop(p, "ATTENDEE"), "CN").as_deref(), Some("A BC: D"));
}

#[test]
fn param_quoting_only_when_needed() {
    assert_eq!(param_value("Europe/Paris", false), "Europe/Paris");
    assert_eq!(param_value("a:b", false), "\"a:b\"");
    assert_eq!(param_value("a;b", false), "\"a;b\"");
    assert_eq!(param_value("a,b", false), "\"a,b\"");
    assert_eq!(param_value("say \"hi\"", false), "say hi");
    assert_eq!(param_value("Zoé", true), "\"Zoé\"");
}

#[test]
fn escape_text_rules() {
    assert_eq!(
        escape_text("a\\b;c,d\ne\r\nf\rg"),
        "a\\\\b\\;c\\,d\\ne\\nf\\ng"
    );
    assert_eq!(escape_text("tab\there\u{7}bell"), "tab\therebell");
    assert_eq!(escape_text("é: ok"), "é: ok");
}

// ---------------------------------------------------------------------------
// 2. folding
// ---------------------------------------------------------------------------

fn assert_well_folded(text: &str) {
    for (i, l) in physical_lines(text).iter().enumerate() {
        assert!(l.len() <= 75, "line {i} has {} octets", l.len());
        assert!(!l.contains(&b'\r'), "bare CR in line {i}");
        let s = std::str::from_utf8(l).expect("each physical line is valid UTF-8");
        if let Some(rest) = s.strip_prefix(' ') {
            assert!(!rest.is_empty(), "empty continuation line {i}");
        }
    }
}

#[test]
fn long_utf8_description_is_folded_and_round_trips() {
    let mut e = event(chrono_tz::Europe::Paris);
    e.description = "Équipe réserve ⚽🏟️ — déplacement à Saint-Étienne; \
        rendez-vous 8h30, parking côté tribune Jean-Snella. 👨‍👩‍👧‍👦 \
        Les familles sont bienvenues, goûter offert: crêpes, clémentines, 🍊🥞. \
        Merci d'apporter maillot + short + chaussettes (bleu/blanc). 日本語テスト 中文測試 \
        ñandú árbol über straße øre \u{1F3C6}\u{1F3C6}\u{1F3C6}\u{1F3C6}\u{1F3C6}"
        .repeat(4);
    let text = render(Some(Method::Request), std::slice::from_ref(&e));
    assert_well_folded(&text);
    assert!(physical_lines(&text).iter().any(|l| l.len() > 70));

    let expected = format!("DESCRIPTION:{}", escape_text(&e.description));
    assert!(
        unfold(&text).contains(&expected),
        "unfolding restores the line"
    );

    let cal = parse(&text);
    assert_eq!(
        unescape(&value(&cal.events[0].properties, "DESCRIPTION")),
        e.description
    );
}

#[test]
fn folding_at_every_offset_and_width() {
    // Every alignment of 1-, 2-, 3- and 4-octet characters and of spaces
    // against the 75/74 octet limits.
    for filler in ["é", "€", "🎉", " ", "a", "é €🎉a  "] {
        for prefix in 0..80 {
            let content = format!("X-T:{}{}z", "b".repeat(prefix), filler.repeat(60));
            let mut out = String::new();
            line(&mut out, &content);
            assert_well_folded(&out);
            assert_eq!(unfold(&out), vec![content.clone()]);
            // Parsers that trim trailing blanks must still see every space.
            assert!(
                physical_lines(&out)
                    .iter()
                    .all(|l| !l.ends_with(b" ") || l.iter().all(|&b| b == b' ')),
                "fold after a blank: {out:?}"
            );
            let wrapped = format!("BEGIN:VCALENDAR\r\n{out}END:VCALENDAR\r\n");
            let cal = parse(&wrapped);
            assert_eq!(value(&cal.properties, "X-T"), content["X-T:".len()..]);
        }
    }
}

#[test]
fn short_lines_are_untouched() {
    let mut out = String::new();
    line(&mut out, &"x".repeat(75));
    assert_eq!(out, format!("{}\r\n", "x".repeat(75)));
    let mut out = String::new();
    line(&mut out, &"x".repeat(76));
    assert_eq!(out, format!("{}\r\n x\r\n", "x".repeat(75)));
}

// ---------------------------------------------------------------------------
// 3. VTIMEZONE correctness
// ---------------------------------------------------------------------------

/// A client-side reading of STANDARD/DAYLIGHT blocks, written from RFC 5545
/// rather than from the generator: the onset list, and the offset at any
/// instant is the TZOFFSETTO of the latest onset not after it (before the
/// first onset, that onset's TZOFFSETFROM).
struct Evaluator {
    onsets: Vec<(NaiveDateTime, i32, i32)>, // (utc, from, to)
    blocks: Vec<Block>,
}

#[derive(Debug)]
struct Block {
    daylight: bool,
    dtstart: NaiveDateTime,
    rrule: Option<String>,
    from: i32,
    to: i32,
    name: Option<String>,
}

fn parse_offset(s: &str) -> i32 {
    let sign = match &s[..1] {
        "+" => 1,
        "-" => -1,
        _ => panic!("bad offset {s}"),
    };
    let digits = &s[1..];
    assert!(digits.len() == 4 || digits.len() == 6, "bad offset {s}");
    let h: i32 = digits[0..2].parse().unwrap();
    let m: i32 = digits[2..4].parse().unwrap();
    let sec: i32 = if digits.len() == 6 {
        digits[4..6].parse().unwrap()
    } else {
        0
    };
    sign * (h * 3600 + m * 60 + sec)
}

fn parse_local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%S").unwrap_or_else(|_| panic!("bad date {s}"))
}

fn nth_weekday(year: i32, month: u32, n: i32, wd: Weekday) -> Option<NaiveDate> {
    if n > 0 {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let shift = (7 + wd.num_days_from_monday() as i64
            - first.weekday().num_days_from_monday() as i64)
            % 7;
        let d = first + Duration::days(shift + 7 * (n as i64 - 1));
        (d.month() == month).then_some(d)
    } else {
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let last = NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()?;
        let shift = (7 + last.weekday().num_days_from_monday() as i64
            - wd.num_days_from_monday() as i64)
            % 7;
        let d = last - Duration::days(shift + 7 * (-n as i64 - 1));
        (d.month() == month).then_some(d)
    }
}

fn weekday(code: &str) -> Weekday {
    match code {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => panic!("bad weekday {code}"),
    }
}

fn evaluator_for(text: &str, tzid: &str) -> Evaluator {
    assert!(!text.contains("RDATE"), "no RDATE anywhere");
    let cal = parse(text);
    let zone = cal
        .timezones
        .iter()
        .find(|z| value(&z.properties, "TZID") == tzid)
        .unwrap_or_else(|| panic!("VTIMEZONE {tzid} present"));
    let mut blocks = Vec::new();
    let mut onsets = Vec::new();
    for t in &zone.transitions {
        let p = &t.properties;
        assert!(!has(p, "RDATE"));
        let block = Block {
            daylight: matches!(t.transition, IcalTimeZoneTransitionType::DAYLIGHT),
            dtstart: parse_local(&value(p, "DTSTART")),
            rrule: has(p, "RRULE").then(|| value(p, "RRULE")),
            from: parse_offset(&value(p, "TZOFFSETFROM")),
            to: parse_offset(&value(p, "TZOFFSETTO")),
            name: has(p, "TZNAME").then(|| value(p, "TZNAME")),
        };
        let to_utc = |local: NaiveDateTime| local - Duration::seconds(block.from as i64);
        match &block.rrule {
            None => onsets.push((to_utc(block.dtstart), block.from, block.to)),
            Some(rule) => {
                let mut month = None;
                let mut byday = None;
                let mut until = None;
                for part in rule.split(';') {
                    let (k, v) = part.split_once('=').expect("KEY=VALUE");
                    match k {
                        "FREQ" => assert_eq!(v, "YEARLY"),
                        "BYMONTH" => month = Some(v.parse::<u32>().unwrap()),
                        "BYDAY" => {
                            let (n, wd) = v.split_at(v.len() - 2);
                            byday = Some((n.parse::<i32>().unwrap(), weekday(wd)));
                        }
                        "UNTIL" => {
                            let u = v.strip_suffix('Z').expect("UNTIL in UTC");
                            until = Some(parse_local(u));
                        }
                        other => panic!("unexpected RRULE part {other}"),
                    }
                }
                let month = month.expect("BYMONTH");
                let (n, wd) = byday.expect("BYDAY");
                assert_eq!(block.dtstart.month(), month, "DTSTART matches rule");
                for year in block.dtstart.year()..=2100 {
                    let Some(day) = nth_weekday(year, month, n, wd) else {
                        continue;
                    };
                    let local = day.and_time(block.dtstart.time());
                    if year == block.dtstart.year() {
                        assert_eq!(local, block.dtstart, "DTSTART is the first occurrence");
                    }
                    let utc = to_utc(local);
                    if until.is_some_and(|u| utc > u) {
                        break;
                    }
                    onsets.push((utc, block.from, block.to));
                }
                if let Some(u) = until {
                    assert!(onsets.iter().any(|o| o.0 == u), "UNTIL is an occurrence");
                }
            }
        }
        blocks.push(block);
    }
    onsets.sort();
    Evaluator { onsets, blocks }
}

impl Evaluator {
    fn offset(&self, utc: NaiveDateTime) -> i32 {
        match self.onsets.iter().rev().find(|o| o.0 <= utc) {
            Some(o) => o.2,
            None => self.onsets[0].1,
        }
    }
}

/// Every 6 hours across the local years `first..=last`.
fn check_zone(ev: &Evaluator, tz: Tz, first: i32, last: i32) {
    let mut t = dt(first, 1, 1, 0, 0);
    let end = dt(last + 1, 1, 1, 0, 0);
    let mut checked = 0;
    while t < end {
        let expected = tz.offset_from_utc_datetime(&t).fix().local_minus_utc();
        assert_eq!(
            ev.offset(t),
            expected,
            "{} at {t}Z: {:?}",
            tz.name(),
            ev.blocks
        );
        t += Duration::hours(6);
        checked += 1;
    }
    assert!(checked >= 1460 * (last - first + 1));
    // Every block states the offset it leaves from correctly, too.
    for o in &ev.onsets {
        if o.0 >= dt(first, 1, 1, 0, 0) && o.0 < end {
            let before = tz
                .offset_from_utc_datetime(&(o.0 - Duration::seconds(1)))
                .fix()
                .local_minus_utc();
            let after = tz.offset_from_utc_datetime(&o.0).fix().local_minus_utc();
            assert_eq!((o.1, o.2), (before, after), "onset {}Z", o.0);
        }
    }
}

fn series(tz: Tz, first: i32, last: i32) -> Event {
    let mut e = event(tz);
    e.start_local = dt(first, 1, 15, 10, 0);
    e.last_start_local = Some(dt(last, 12, 10, 10, 0));
    e.rrule = Some(format!("FREQ=WEEKLY;UNTIL={last}1210T090000Z"));
    e
}

fn zone_text(tz: Tz, first: i32, last: i32) -> String {
    render(Some(Method::Request), &[series(tz, first, last)])
}

fn check(tz: Tz, first: i32, last: i32) -> Evaluator {
    let text = zone_text(tz, first, last);
    let ev = evaluator_for(&text, tz.name());
    check_zone(&ev, tz, first, last);
    ev
}

fn rules(ev: &Evaluator) -> Vec<(bool, Option<&str>)> {
    ev.blocks
        .iter()
        .map(|b| (b.daylight, b.rrule.as_deref()))
        .collect()
}

#[test]
fn vtimezone_paris_is_two_yearly_rules() {
    let text = zone_text(chrono_tz::Europe::Paris, 2026, 2028);
    assert!(!text.contains("RDATE"));
    let ev = evaluator_for(&text, "Europe/Paris");
    check_zone(&ev, chrono_tz::Europe::Paris, 2026, 2028);
    let mut r = rules(&ev);
    r.sort();
    assert_eq!(
        r,
        [
            (false, Some("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU")),
            (true, Some("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")),
        ]
    );
    let daylight = ev.blocks.iter().find(|b| b.daylight).unwrap();
    assert_eq!(daylight.dtstart, dt(2026, 3, 29, 2, 0));
    assert_eq!((daylight.from, daylight.to), (3600, 7200));
    assert_eq!(daylight.name.as_deref(), Some("CEST"));
    let standard = ev.blocks.iter().find(|b| !b.daylight).unwrap();
    assert_eq!(standard.dtstart, dt(2026, 10, 25, 3, 0));
    assert_eq!(standard.name.as_deref(), Some("CET"));
    assert!(text.contains("TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"));
}

#[test]
fn vtimezone_paris_open_ended_series() {
    let mut e = event(chrono_tz::Europe::Paris);
    e.rrule = Some("FREQ=WEEKLY;BYDAY=SA".into());
    let text = render(None, &[e]);
    let ev = evaluator_for(&text, "Europe/Paris");
    check_zone(&ev, chrono_tz::Europe::Paris, 2026, 2036);
    assert_eq!(ev.blocks.len(), 2);
    assert!(ev
        .blocks
        .iter()
        .all(|b| b.rrule.as_deref().is_some_and(|r| !r.contains("UNTIL"))));
}

#[test]
fn vtimezone_single_event_still_uses_rules() {
    // A one-off match in 2026 still gets RRULE blocks: the rule carries on
    // after 2026, and Outlook copes best with that form.
    let text = render(Some(Method::Request), &[event(chrono_tz::Europe::Paris)]);
    let ev = evaluator_for(&text, "Europe/Paris");
    check_zone(&ev, chrono_tz::Europe::Paris, 2026, 2026);
    assert_eq!(ev.blocks.len(), 2);
    assert!(ev.blocks.iter().all(|b| b.rrule.is_some()));
}

#[test]
fn vtimezone_new_york_rule_change_2007() {
    let ev = check(chrono_tz::America::New_York, 2006, 2009);
    let r = rules(&ev);
    assert_eq!(ev.blocks.len(), 4, "{r:?}");
    let with_until: Vec<_> = r
        .iter()
        .filter(|(_, rule)| rule.is_some_and(|x| x.contains("UNTIL")))
        .collect();
    assert_eq!(
        with_until,
        [
            &(
                true,
                Some("FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z")
            ),
            &(
                false,
                Some("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z")
            ),
        ]
    );
    assert!(r.contains(&(true, Some("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"))));
    assert!(r.contains(&(false, Some("FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"))));

    // With more of the old rule in the span, UNTIL stops a multi-year run.
    let ev = check(chrono_tz::America::New_York, 2003, 2009);
    let r = rules(&ev);
    assert!(r.contains(&(
        true,
        Some("FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z")
    )));
    let first_dst = ev.blocks.iter().find(|b| b.daylight).unwrap();
    assert_eq!(first_dst.dtstart, dt(2003, 4, 6, 2, 0));
}

#[test]
fn vtimezone_southern_hemisphere_and_abolished_dst() {
    let ev = check(chrono_tz::Australia::Sydney, 2026, 2028);
    let mut r = rules(&ev);
    r.sort();
    assert_eq!(
        r,
        [
            (false, Some("FREQ=YEARLY;BYMONTH=4;BYDAY=1SU")),
            (true, Some("FREQ=YEARLY;BYMONTH=10;BYDAY=1SU")),
        ]
    );

    let ev = check(chrono_tz::America::Sao_Paulo, 2017, 2021);
    // DST ended for good in February 2019: nothing may run past it.
    for b in &ev.blocks {
        if let Some(rule) = &b.rrule {
            assert!(rule.contains("UNTIL="), "{rule}");
        }
    }
    let last_onset = ev.onsets.last().unwrap();
    assert!(last_onset.0 < dt(2019, 3, 1, 0, 0));
    assert_eq!(last_onset.2, -3 * 3600);
}

#[test]
fn vtimezone_london_and_tokyo() {
    let ev = check(chrono_tz::Europe::London, 2026, 2028);
    assert_eq!(ev.blocks.len(), 2);
    let ev = check(chrono_tz::Asia::Tokyo, 2026, 2028);
    assert_eq!(ev.blocks.len(), 1);
}

#[test]
fn vtimezone_fixed_offset_zones() {
    for (tz, offset) in [
        (chrono_tz::Indian::Reunion, "+0400"),
        (chrono_tz::America::Cayenne, "-0300"),
        (chrono_tz::Asia::Tokyo, "+0900"),
    ] {
        let text = zone_text(tz, 2026, 2028);
        let ev = evaluator_for(&text, tz.name());
        check_zone(&ev, tz, 2026, 2028);
        assert_eq!(ev.blocks.len(), 1, "{}", tz.name());
        let b = &ev.blocks[0];
        assert!(!b.daylight);
        assert_eq!(b.dtstart, dt(1970, 1, 1, 0, 0));
        assert!(b.rrule.is_none());
        assert_eq!(b.from, b.to);
        assert!(text.contains(&format!("TZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\n")));
    }
}

#[test]
fn vtimezone_irregular_zones() {
    // Ramadan suspensions, abolished DST, fixed-date rules, half-hour DST,
    // and a zone that moved across the date line.
    for (tz, first, last) in [
        (chrono_tz::Africa::Casablanca, 2012, 2020),
        (chrono_tz::Asia::Tehran, 2019, 2024),
        (chrono_tz::Europe::Moscow, 2010, 2015),
        (chrono_tz::America::Santiago, 2014, 2024),
        (chrono_tz::Australia::Lord_Howe, 2026, 2028),
        (chrono_tz::Pacific::Apia, 2010, 2022),
        (chrono_tz::Europe::Dublin, 2026, 2028),
        (chrono_tz::America::Godthab, 2022, 2025),
        (chrono_tz::Africa::Cairo, 2013, 2025),
    ] {
        check(tz, first, last);
    }
}

#[test]
fn utc_offset_format() {
    assert_eq!(utc_offset(3600), "+0100");
    assert_eq!(utc_offset(-3 * 3600 - 30 * 60), "-0330");
    assert_eq!(utc_offset(0), "+0000");
    assert_eq!(utc_offset(561), "+000921");
}

// ---------------------------------------------------------------------------
// 4. series with EXDATE and an override
// ---------------------------------------------------------------------------

fn season() -> Event {
    let mut e = event(chrono_tz::Europe::Paris);
    e.sequence = 7;
    e.start_local = dt(2026, 9, 5, 10, 0);
    e.rrule = Some("FREQ=WEEKLY;BYDAY=SA;UNTIL=20270626T080000Z".into());
    e.last_start_local = Some(dt(2027, 6, 26, 10, 0));
    e.exdates_local = vec![dt(2026, 12, 26, 10, 0), dt(2026, 10, 24, 10, 0)];
    e.overrides = vec![EventOverride {
        recurrence_id_local: dt(2026, 10, 31, 10, 0),
        start_local: dt(2026, 10, 31, 14, 30),
        duration_minutes: 120,
    }];
    e
}

#[test]
fn series_with_exdates_and_override() {
    let e = season();
    let text = render(Some(Method::Request), std::slice::from_ref(&e));
    let cal = parse(&text);
    assert_eq!(cal.events.len(), 2);

    let master = &cal.events[0].properties;
    assert!(!has(master, "RECURRENCE-ID"));
    assert_eq!(
        value(master, "RRULE"),
        "FREQ=WEEKLY;BYDAY=SA;UNTIL=20270626T080000Z"
    );
    let exdate = prop(master, "EXDATE");
    assert_eq!(param(exdate, "TZID").as_deref(), Some("Europe/Paris"));
    assert_eq!(
        exdate.value.as_deref(),
        Some("20261024T100000,20261226T100000")
    );

    let ov = &cal.events[1].properties;
    assert_eq!(value(ov, "UID"), value(master, "UID"));
    assert_eq!(value(ov, "SEQUENCE"), "7");
    assert_eq!(value(master, "SEQUENCE"), "7");
    let rid = prop(ov, "RECURRENCE-ID");
    assert_eq!(param(rid, "TZID").as_deref(), Some("Europe/Paris"));
    assert_eq!(rid.value.as_deref(), Some("20261031T100000"));
    assert_eq!(value(ov, "DTSTART"), "20261031T143000");
    assert_eq!(
        param(prop(ov, "DTSTART"), "TZID").as_deref(),
        Some("Europe/Paris")
    );
    assert_eq!(value(ov, "DTEND"), "20261031T163000");
    assert!(!has(ov, "RRULE"));
    assert!(!has(ov, "EXDATE"));
    assert_eq!(unescape(&value(ov, "SUMMARY")), SUMMARY);
    assert_eq!(value(ov, "STATUS"), "CONFIRMED");
    assert!(has(ov, "ORGANIZER") && has(ov, "ATTENDEE") && has(ov, "DTSTAMP"));

    // A recurrence engine agrees: the override replaces a real occurrence,
    // the EXDATEs remove real ones, and the series ends on last_start_local.
    let unfolded = unfold(&text);
    let vevent_at = unfolded.iter().position(|l| l == "BEGIN:VEVENT").unwrap();
    let pick = |prefix: &str| {
        unfolded[vevent_at..]
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap()
            .clone()
    };
    let set: rrule::RRuleSet = format!(
        "{}\n{}\n{}",
        pick("DTSTART;"),
        pick("RRULE:"),
        pick("EXDATE;")
    )
    .parse()
    .expect("rrule parses the series");
    let dates: Vec<NaiveDateTime> = set.all(500).dates.iter().map(|d| d.naive_local()).collect();
    assert_eq!(dates.first(), Some(&e.start_local));
    assert_eq!(dates.last(), e.last_start_local.as_ref());
    assert!(dates.contains(&e.overrides[0].recurrence_id_local));
    for x in &e.exdates_local {
        assert!(!dates.contains(x));
        assert_eq!(x.weekday(), Weekday::Sat);
    }

    // The span of the VTIMEZONE covers the whole season.
    let ev = evaluator_for(&text, "Europe/Paris");
    check_zone(&ev, chrono_tz::Europe::Paris, 2026, 2027);
}

#[test]
fn dtend_follows_the_timeline_across_dst() {
    let mut e = event(chrono_tz::Europe::Paris);
    // 01:30 CET + 90 min = 04:00 CEST (the clock jumps at 02:00).
    e.start_local = dt(2026, 3, 29, 1, 30);
    let text = render(None, std::slice::from_ref(&e));
    assert_eq!(
        value(&parse(&text).events[0].properties, "DTEND"),
        "20260329T040000"
    );
    // 02:30 does not exist; RFC 5545 reads it with the offset before the gap.
    e.start_local = dt(2026, 3, 29, 2, 30);
    e.duration_minutes = 60;
    let text = render(None, std::slice::from_ref(&e));
    let p = &parse(&text).events[0].properties;
    assert_eq!(value(p, "DTSTART"), "20260329T023000");
    assert_eq!(value(p, "DTEND"), "20260329T043000");
    // 02:30 happens twice in October; the first one is meant.
    e.start_local = dt(2026, 10, 25, 2, 30);
    let text = render(None, std::slice::from_ref(&e));
    assert_eq!(
        value(&parse(&text).events[0].properties, "DTEND"),
        "20261025T023000"
    );
    assert_eq!(
        local_end(chrono_tz::Europe::Paris, dt(2026, 10, 25, 2, 30), -5),
        dt(2026, 10, 25, 2, 30)
    );
}

#[test]
fn event_years_span() {
    let mut e = event(chrono_tz::Europe::Paris);
    assert_eq!(event_years(&e), (2026, 2026));
    e.start_local = dt(2026, 12, 31, 23, 0);
    assert_eq!(event_years(&e), (2026, 2027));
    let mut s = season();
    assert_eq!(event_years(&s), (2026, 2027));
    s.overrides[0].start_local = dt(2028, 7, 1, 10, 0);
    assert_eq!(event_years(&s), (2026, 2028));
    s.last_start_local = None;
    assert_eq!(event_years(&s), (2026, 2036));
}

// ---------------------------------------------------------------------------
// 5. cancellation
// ---------------------------------------------------------------------------

#[test]
fn cancel_has_method_and_cancelled_status() {
    let mut e = season();
    e.sequence = 8;
    e.status = EventStatus::Cancelled;
    let text = render(Some(Method::Cancel), std::slice::from_ref(&e));
    let cal = parse(&text);
    assert_eq!(value(&cal.properties, "METHOD"), "CANCEL");
    assert_eq!(cal.events.len(), 2);
    for ev in &cal.events {
        assert_eq!(value(&ev.properties, "STATUS"), "CANCELLED");
        assert_eq!(value(&ev.properties, "SEQUENCE"), "8");
        assert_eq!(value(&ev.properties, "UID"), e.uid);
    }
    assert!(!text.contains("STATUS:CONFIRMED"));
}
