//! Reading the messages the test SMTP server received, as a mail client would.
#![allow(dead_code)]

use mailparse::{MailHeaderMap, ParsedMail};

use super::smtp::Received;

pub fn parse(message: &Received) -> ParsedMail<'_> {
    mailparse::parse_mail(message.data.as_bytes()).expect("a MIME message")
}

pub fn subject(message: &Received) -> String {
    parse(message)
        .headers
        .get_first_value("Subject")
        .unwrap_or_default()
}

/// Every leaf part of a MIME tree, in order.
pub fn leaves<'a>(part: &'a ParsedMail<'a>, out: &mut Vec<&'a ParsedMail<'a>>) {
    if part.subparts.is_empty() {
        out.push(part);
    }
    for sub in &part.subparts {
        leaves(sub, out);
    }
}
