//! Assembling the MIME message.
//!
//! Without a calendar:
//! ```text
//! multipart/alternative
//! ├── text/plain; charset=utf-8
//! └── text/html; charset=utf-8
//! ```
//! With a calendar:
//! ```text
//! multipart/mixed
//! ├── multipart/alternative
//! │   ├── text/plain; charset=utf-8
//! │   ├── text/html; charset=utf-8
//! │   └── text/calendar; charset=utf-8; method=REQUEST   (inline, base64)
//! └── application/ics; charset=utf-8; name="invite.ics"               (attachment, base64)
//! ```
//! The calendar parts are always base64: lettre would otherwise pick
//! quoted-printable, which Outlook mishandles for iCalendar.

use std::time::SystemTime;

use lettre::message::header::{ContentDisposition, ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

use super::templates::Rendered;

/// An iCalendar object to send along with the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarPart {
    /// iTIP method, "REQUEST" or "CANCEL"; must match `METHOD:` in `ics`.
    pub method: &'static str,
    /// The full VCALENDAR text (CRLF line endings, folded as per RFC 5545).
    pub ics: String,
}

/// Builds the message. `message_id` is used verbatim as the Message-ID
/// header; angle brackets are added when missing (`abc@host` → `<abc@host>`).
/// The Date header is set to now.
pub fn build(
    from: &Mailbox,
    to: &Mailbox,
    message_id: &str,
    rendered: &Rendered,
    calendar: Option<&CalendarPart>,
) -> Result<Message, lettre::error::Error> {
    let message_id = if message_id.starts_with('<') && message_id.ends_with('>') {
        message_id.to_owned()
    } else {
        format!("<{message_id}>")
    };
    let builder = Message::builder()
        .from(from.clone())
        .to(to.clone())
        .subject(rendered.subject.clone())
        .message_id(Some(message_id))
        .date(SystemTime::now());

    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(rendered.text.clone());
    let html = SinglePart::builder()
        .header(ContentType::TEXT_HTML)
        .body(rendered.html.clone());

    let Some(cal) = calendar else {
        return builder.multipart(MultiPart::alternative().singlepart(text).singlepart(html));
    };

    let method = cal.method;
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(lettre::error::Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("invalid iTIP method {method:?}"),
        )));
    }
    let bad_type = |e| {
        lettre::error::Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("content type: {e:?}"),
        ))
    };
    let inline_type = ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
        .map_err(bad_type)?;
    let attachment_type = ContentType::parse("application/ics; charset=utf-8; name=\"invite.ics\"")
        .map_err(bad_type)?;

    let inline = SinglePart::builder()
        .header(inline_type)
        .header(ContentTransferEncoding::Base64)
        .body(cal.ics.clone());
    let attachment = SinglePart::builder()
        .header(attachment_type)
        .header(ContentDisposition::attachment("invite.ics"))
        .header(ContentTransferEncoding::Base64)
        .body(cal.ics.clone());

    builder.multipart(
        MultiPart::mixed()
            .multipart(
                MultiPart::alternative()
                    .singlepart(text)
                    .singlepart(html)
                    .singlepart(inline),
            )
            .singlepart(attachment),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:abc@example.org\r\nDTSTAMP:20260301T100000Z\r\nDTSTART:20260310T173000Z\r\nSUMMARY:Football — AS Bondy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn rendered() -> Rendered {
        Rendered {
            subject: "Rappel : Football — AS Bondy, mardi 10 mars 2026 à 18 h 30".to_owned(),
            text: "Bonjour Amina,\n\nPetit rappel : votre séance approche.\n".to_owned(),
            html: "<!DOCTYPE html><p>Bonjour Amina,</p>\n".to_owned(),
        }
    }

    fn mailboxes() -> (Mailbox, Mailbox) {
        (
            "Séances sport <noreply@sport.example.org>".parse().unwrap(),
            "Amina <amina@example.net>".parse().unwrap(),
        )
    }

    /// Minimal standard base64 decoder (ignores whitespace).
    fn b64decode(s: &str) -> Vec<u8> {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
            let v = A.iter().position(|&a| a == c).expect("base64 char") as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        out
    }

    /// Splits a part (headers, blank line, body) at the first blank line.
    fn split_part(part: &str) -> (&str, &str) {
        let part = part.trim_start_matches("\r\n");
        part.split_once("\r\n\r\n").unwrap_or((part, ""))
    }

    fn header_lines(headers: &str) -> String {
        // Unfold continuation lines.
        headers.replace("\r\n ", " ").replace("\r\n\t", " ")
    }

    #[test]
    fn with_calendar() {
        let (from, to) = mailboxes();
        let cal = CalendarPart {
            method: "REQUEST",
            ics: ICS.to_owned(),
        };
        let msg = build(
            &from,
            &to,
            "<m-123@sport.example.org>",
            &rendered(),
            Some(&cal),
        )
        .unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        let (top, _) = split_part(&raw);
        let top = header_lines(top);

        assert!(
            top.contains("Message-ID: <m-123@sport.example.org>"),
            "{top}"
        );
        assert!(top.lines().any(|l| l.starts_with("Date: ")), "{top}");
        assert!(top.contains("Content-Type: multipart/mixed"), "{top}");
        assert!(top.lines().any(|l| l.starts_with("Subject: ")), "{top}");
        assert!(raw.contains("Content-Type: multipart/alternative"));
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(raw.contains("Content-Type: text/html; charset=utf-8"));

        // Walk every leaf part by splitting on boundary lines.
        let parts: Vec<&str> = raw.split("\r\n--").skip(1).collect();
        let mut calendar_parts = 0;
        let mut saw_inline_request = false;
        let mut saw_attachment = false;
        for p in parts {
            let Some((_, rest)) = p.split_once("\r\n") else {
                continue;
            };
            let (headers, body) = split_part(rest);
            let headers = header_lines(headers);
            let is_cal = headers.contains("text/calendar") || headers.contains("application/ics");
            if !is_cal {
                continue;
            }
            calendar_parts += 1;
            assert!(
                headers.contains("Content-Transfer-Encoding: base64"),
                "calendar part not base64: {headers}"
            );
            if headers.contains("text/calendar") {
                assert!(headers.contains("method=REQUEST"), "{headers}");
                assert!(!headers.contains("attachment"), "{headers}");
                saw_inline_request = true;
            }
            if headers.contains("attachment") {
                assert!(headers.contains("invite.ics"), "{headers}");
                saw_attachment = true;
            }
            let body = body.split("\r\n--").next().unwrap();
            let decoded = String::from_utf8(b64decode(body)).unwrap();
            assert_eq!(decoded, ICS);
        }
        assert_eq!(calendar_parts, 2);
        assert!(saw_inline_request && saw_attachment);

        // The structure: mixed contains alternative before the attachment.
        let mixed = raw.find("multipart/mixed").unwrap();
        let alt = raw.find("multipart/alternative").unwrap();
        let att = raw.find("filename=\"invite.ics\"").unwrap();
        assert!(mixed < alt && alt < att);
    }

    #[test]
    #[ignore = "prints a sample message; run with --ignored --nocapture"]
    fn print_sample() {
        let (from, to) = mailboxes();
        let cal = CalendarPart {
            method: "REQUEST",
            ics: ICS.to_owned(),
        };
        let msg = build(
            &from,
            &to,
            "<m-123@sport.example.org>",
            &rendered(),
            Some(&cal),
        )
        .unwrap();
        println!("{}", String::from_utf8(msg.formatted()).unwrap());
    }

    #[test]
    fn cancel_method() {
        let (from, to) = mailboxes();
        let cal = CalendarPart {
            method: "CANCEL",
            ics: ICS.replace("METHOD:REQUEST", "METHOD:CANCEL"),
        };
        let msg = build(&from, &to, "c-1@sport.example.org", &rendered(), Some(&cal)).unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        assert!(raw.contains("method=CANCEL"));
        assert!(raw.contains("Message-ID: <c-1@sport.example.org>\r\n"));
    }

    #[test]
    fn bad_method_is_an_error() {
        let (from, to) = mailboxes();
        let cal = CalendarPart {
            method: "REQUEST\r\nX-Evil: 1",
            ics: ICS.to_owned(),
        };
        assert!(build(&from, &to, "<x@y>", &rendered(), Some(&cal)).is_err());
    }

    #[test]
    fn without_calendar() {
        let (from, to) = mailboxes();
        let msg = build(&from, &to, "<m-2@sport.example.org>", &rendered(), None).unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        let (top, _) = split_part(&raw);
        let top = header_lines(top);
        assert!(top.contains("Content-Type: multipart/alternative"), "{top}");
        assert!(top.contains("Message-ID: <m-2@sport.example.org>"));
        assert!(!raw.contains("multipart/mixed"));
        assert!(!raw.contains("text/calendar"));
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(raw.contains("Content-Type: text/html; charset=utf-8"));
    }
}
