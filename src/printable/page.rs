//! Small HTML pages for people without an account: RSVP answers and the printable
//! schedule. Plain, readable on a phone, printable; every value escaped.

use crate::mail::lang::Lang;

pub use crate::mail::templates::escape_html as escape;

/// A whole page around `body` (already HTML).
pub fn page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:1.5rem auto;\
         padding:0 1rem;line-height:1.5;color:#1a1a1a}}h1{{font-size:1.4rem}}\
         button{{font-size:1.2rem;padding:.8rem 1.6rem;border:0;border-radius:.5rem;\
         background:#0b6e4f;color:#fff}}table{{border-collapse:collapse;width:100%}}\
         td,th{{border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}}\
         @media print{{button{{display:none}}}}</style></head>\
         <body>{body}</body></html>\n",
        lang = lang.as_str(),
        title = escape(title),
    )
}

/// The same words in French and English.
pub fn say(lang: Lang, fr: &str, en: &str) -> String {
    match lang {
        Lang::Fr => fr.to_owned(),
        Lang::En => en.to_owned(),
    }
}
