//! Loading, checking and rendering the e-mail templates.
//!
//! Layout on disk (`dir` is e.g. `email-templates`):
//! ```text
//! dir/fr/layout.html  dir/fr/layout.txt
//! dir/fr/{kind}.subject.txt  dir/fr/{kind}.txt  dir/fr/{kind}.html
//! dir/en/…            (same names)
//! ```
//! Every file is registered as "fr/invitation.html" etc. Message templates
//! start with `{% extends "fr/layout.html" %}`.

use std::fmt;
use std::path::{Path, PathBuf};

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

use super::context::{MailContext, MessageKind};
use super::lang::Lang;

/// The three rendered parts of one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A template problem. `Display` always starts with the file path.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: missing required template", path.display())]
    Missing { path: PathBuf },
    /// `detail` starts with "syntax error: …" and ends with ", line N".
    #[error("{}: {detail}", path.display())]
    Syntax { path: PathBuf, detail: String },
    #[error("{}: render error: {detail}", path.display())]
    Render { path: PathBuf, detail: String },
    #[error("{}: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
}

impl TemplateError {
    /// The template file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            TemplateError::Io { path, .. }
            | TemplateError::Missing { path }
            | TemplateError::Syntax { path, .. }
            | TemplateError::Render { path, .. }
            | TemplateError::Invalid { path, .. } => path,
        }
    }
}

/// Template file names for one language, relative to the language folder.
fn required_names() -> Vec<String> {
    let mut names = vec!["layout.html".to_owned(), "layout.txt".to_owned()];
    for kind in MessageKind::ALL {
        let k = kind.as_str();
        names.push(format!("{k}.subject.txt"));
        names.push(format!("{k}.txt"));
        names.push(format!("{k}.html"));
    }
    names
}

/// Where the embedded templates came from, as error messages name them.
const EMBEDDED_ROOT: &str = "email-templates (built in)";

/// The template files of one language folder, compiled in: `(name, source)`.
macro_rules! language_folder {
    ($lang:literal) => {
        language_folder!($lang;
            "layout.html", "layout.txt",
            "invitation.subject.txt", "invitation.txt", "invitation.html",
            "update.subject.txt", "update.txt", "update.html",
            "cancellation.subject.txt", "cancellation.txt", "cancellation.html",
            "waitlisted.subject.txt", "waitlisted.txt", "waitlisted.html",
            "promotion.subject.txt", "promotion.txt", "promotion.html",
            "reminder.subject.txt", "reminder.txt", "reminder.html",
            "delivery_failed.subject.txt", "delivery_failed.txt", "delivery_failed.html",
            "absence_alert.subject.txt", "absence_alert.txt", "absence_alert.html",
            "sign_in.subject.txt", "sign_in.txt", "sign_in.html",
        )
    };
    ($lang:literal; $($file:literal),+ $(,)?) => {
        &[$((
            concat!($lang, "/", $file),
            include_str!(concat!("../../email-templates/", $lang, "/", $file)),
        )),+]
    };
}

/// Every template file, compiled in: the binary sends emails from any folder.
const EMBEDDED_FR: &[(&str, &str)] = language_folder!("fr");
const EMBEDDED_EN: &[(&str, &str)] = language_folder!("en");

fn embedded() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    EMBEDDED_FR.iter().chain(EMBEDDED_EN)
}

/// The template files of one language folder: (file name, path, source), sorted.
fn read_folder(lang_dir: &Path) -> Result<Vec<(String, PathBuf, String)>, TemplateError> {
    let entries = std::fs::read_dir(lang_dir).map_err(|source| TemplateError::Io {
        path: lang_dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| TemplateError::Io {
            path: lang_dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // Skip editor droppings and hidden files.
        if file_name.starts_with('.') || file_name.ends_with('~') {
            continue;
        }
        let source = std::fs::read_to_string(&path).map_err(|source| TemplateError::Io {
            path: path.clone(),
            source,
        })?;
        files.push((file_name.to_owned(), path, source));
    }
    files.sort();
    Ok(files)
}

pub struct Templates {
    env: Environment<'static>,
    dir: PathBuf,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The templates compiled into the binary (`email-templates/` at build time), or
    /// those of `dir` (`dir/fr/*`, `dir/en/*`) when given: a folder only overrides.
    /// Every file is compiled, every required template must exist, and every kind
    /// renders in both languages with sample data (full, sparse and copy variants).
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("static syntax config is valid"),
        );
        env.add_filter("duration", duration_filter);
        env.set_formatter(formatter);

        let root = dir.map_or_else(|| PathBuf::from(EMBEDDED_ROOT), Path::to_path_buf);
        for lang in Lang::ALL {
            let lang_dir = root.join(lang.as_str());
            let files = match dir {
                Some(_) => read_folder(&lang_dir)?,
                None => embedded()
                    .filter_map(|(name, source)| {
                        let file = name.strip_prefix(lang.as_str())?.strip_prefix('/')?;
                        Some((file.to_owned(), lang_dir.join(file), (*source).to_owned()))
                    })
                    .collect(),
            };
            for (file_name, path, source) in files {
                let name = format!("{}/{file_name}", lang.as_str());
                env.add_template_owned(name, source)
                    .map_err(|e| TemplateError::Syntax {
                        path: path.clone(),
                        detail: describe(&e),
                    })?;
            }
            for name in required_names() {
                let full = format!("{}/{name}", lang.as_str());
                if env.get_template(&full).is_err() {
                    return Err(TemplateError::Missing {
                        path: lang_dir.join(name),
                    });
                }
            }
        }

        let templates = Templates { env, dir: root };
        templates.check()?;
        Ok(templates)
    }

    /// Renders every kind in both languages with sample contexts.
    fn check(&self) -> Result<(), TemplateError> {
        for lang in Lang::ALL {
            for kind in MessageKind::ALL {
                let full = MailContext::sample(kind, lang);
                self.render(lang, &full)?;

                // All optional fields empty: exercises the `else` branches.
                let mut sparse = full.clone();
                sparse.copy_for = None;
                sparse.recurrence = None;
                sparse.map_url = None;
                sparse.what_to_bring = None;
                sparse.coach_name = None;
                sparse.club_phone = None;
                sparse.club_email = None;
                sparse.rsvp_yes_url = None;
                sparse.rsvp_no_url = None;
                sparse.feed_url = None;
                sparse.change_note = None;
                sparse.waitlist_position = None;
                sparse.participant_code = None;
                sparse.failed_kind = None;
                self.render(lang, &sparse)?;

                // A copy for the social worker.
                let mut copy = full;
                copy.recipient_name = "Claire".to_owned();
                copy.copy_for = Some("Amina K.".to_owned());
                self.render(lang, &copy)?;
            }
        }
        Ok(())
    }

    /// Renders subject, plain text and HTML of one message. `lang` picks the
    /// templates and overrides `ctx.lang`.
    pub fn render(&self, lang: Lang, ctx: &MailContext) -> Result<Rendered, TemplateError> {
        let mut ctx = ctx.clone();
        ctx.lang = lang;
        let kind = ctx.kind.as_str();
        let l = lang.as_str();
        let subject_name = format!("{l}/{kind}.subject.txt");
        let raw_subject = self.render_one(&subject_name, &ctx)?;
        // One line whatever the data: collapse all whitespace (also guards
        // against header injection through a title containing a newline).
        let subject = raw_subject.split_whitespace().collect::<Vec<_>>().join(" ");
        if subject.is_empty() {
            return Err(TemplateError::Invalid {
                path: self.dir.join(&subject_name),
                detail: "subject renders empty".to_owned(),
            });
        }
        let text = tidy_text(&self.render_one(&format!("{l}/{kind}.txt"), &ctx)?);
        let html = self.render_one(&format!("{l}/{kind}.html"), &ctx)?;
        let html = format!("{}\n", html.trim());
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }

    fn render_one(&self, name: &str, ctx: &MailContext) -> Result<String, TemplateError> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|_| TemplateError::Missing {
                path: self.dir.join(name),
            })?;
        tmpl.render(Serde(ctx)).map_err(|e| {
            // Point at the file where the error happened (may be the layout).
            let at = e.name().unwrap_or(name);
            let path = self.dir.join(at);
            if e.kind() == ErrorKind::SyntaxError {
                TemplateError::Syntax {
                    path,
                    detail: describe(&e),
                }
            } else {
                TemplateError::Render {
                    path,
                    detail: format!("{} (rendering {name})", describe(&e)),
                }
            }
        })
    }
}

/// Output formatter:
/// - printing `none` is an error (an empty option must be wrapped in
///   `{% if … %}`), so the sparse load-time check catches it;
/// - in HTML, strings are escaped for `& < > " '` only. minijinja's default
///   also turns `/` into `&#x2f;`, which is valid but makes every URL in an
///   `href` unreadable to some mail clients and link scanners.
fn formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if value.is_none() {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            "printed an empty value (none); wrap it in {% if … %}",
        ));
    }
    let html = matches!(state.auto_escape(), AutoEscape::Html) && !value.is_safe();
    match value.as_str() {
        Some(s) if html => {
            out.write_str(&escape_html(s))?;
            Ok(())
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// Escapes text for HTML: `& < > " '`, not `/` (minijinja's own escaping writes `/` as
/// `&#x2f;`, which spoils every link).
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

fn describe(e: &minijinja::Error) -> String {
    let what = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    match e.line() {
        Some(line) => format!("{what}, line {line}"),
        None => what,
    }
}

/// `{{ duration_minutes|duration(lang) }}` → "1 h 30" / "1 hour 30 min".
fn duration_filter(minutes: i64, lang: &str) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    match lang {
        "fr" => match (h, m) {
            (0, m) => format!("{m} min"),
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m:02}"),
        },
        _ => {
            let hours = if h == 1 {
                "1 hour".to_owned()
            } else {
                format!("{h} hours")
            };
            match (h, m) {
                (0, m) => format!("{m} minutes"),
                (_, 0) => hours,
                (_, m) => format!("{hours} {m} min"),
            }
        }
    }
}

/// Trims trailing spaces, keeps at most one blank line in a row, ends with
/// one newline.
fn tidy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Templates {
        Templates::load(Some(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/email-templates"
        ))))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    const FORBIDDEN: [&str; 14] = [
        "précarité",
        "precarity",
        "sans-abri",
        "homeless",
        "situation",
        "social",
        "insertion",
        "migrant",
        "refugee",
        "réfugié",
        "shelter",
        "foyer",
        "hébergement",
        "programme",
    ];

    fn all_samples() -> Vec<MailContext> {
        let mut v = Vec::new();
        for lang in Lang::ALL {
            for kind in MessageKind::ALL {
                let s = MailContext::sample(kind, lang);
                let mut copy = s.clone();
                copy.recipient_name = "Claire".to_owned();
                copy.copy_for = Some("Amina K.".to_owned());
                v.push(s);
                v.push(copy);
            }
        }
        v
    }

    #[test]
    fn loads_from_relative_path() {
        // A folder given relative to the working directory overrides the built-in ones.
        Templates::load(Some(Path::new("email-templates"))).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn the_built_in_templates_are_every_file_of_the_folder() {
        Templates::load(None).unwrap_or_else(|e| panic!("{e}"));
        let mut on_disk = Vec::new();
        for lang in Lang::ALL {
            for entry in
                std::fs::read_dir(Path::new("email-templates").join(lang.as_str())).unwrap()
            {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                on_disk.push(format!("{}/{name}", lang.as_str()));
            }
        }
        on_disk.sort();
        let mut built_in: Vec<String> = embedded().map(|(n, _)| (*n).to_owned()).collect();
        built_in.sort();
        assert_eq!(
            built_in, on_disk,
            "a template file is missing from language_folder!"
        );
    }

    #[test]
    fn every_kind_and_language_renders() {
        let t = templates();
        for ctx in all_samples() {
            let r = t.render(ctx.lang, &ctx).unwrap_or_else(|e| panic!("{e}"));
            let label = format!("{:?}/{:?}", ctx.lang, ctx.kind);
            assert!(!r.subject.is_empty(), "{label}");
            assert!(
                !r.subject.contains('\n') && !r.subject.contains('\r'),
                "{label}"
            );
            assert_eq!(r.subject, r.subject.trim(), "{label}");
            assert!(r.text.contains(&ctx.recipient_name), "{label}: greeting");
            assert!(r.html.contains(&ctx.recipient_name), "{label}: greeting");
            assert!(r.html.starts_with("<!DOCTYPE html>"), "{label}");
            assert!(!r.text.contains("<"), "{label}: html in text part");
            assert!(!r.text.contains("\n\n\n"), "{label}");
            // Nothing left unrendered, no `none` printed for an empty option.
            for part in [&r.subject, &r.text, &r.html] {
                assert!(!part.contains("{{") && !part.contains("{%"), "{label}");
            }
            for part in [&r.subject, &r.text] {
                let mut words = part.split(|c: char| !c.is_alphanumeric());
                assert!(!words.any(|w| w == "none" || w == "None"), "{label}");
            }
        }
    }

    #[test]
    fn no_forbidden_words() {
        let t = templates();
        for ctx in all_samples() {
            let r = t.render(ctx.lang, &ctx).unwrap();
            for (part, body) in [
                ("subject", &r.subject),
                ("text", &r.text),
                ("html", &r.html),
            ] {
                let lower = body.to_lowercase();
                for w in FORBIDDEN {
                    assert!(
                        !lower.contains(w),
                        "{:?}/{:?} {part} contains forbidden word {w:?}",
                        ctx.lang,
                        ctx.kind
                    );
                }
            }
        }
    }

    #[test]
    fn content_per_kind() {
        let t = templates();
        let r = |kind, lang| t.render(lang, &MailContext::sample(kind, lang)).unwrap();

        let rem = r(MessageKind::Reminder, Lang::Fr);
        for needle in [
            "mardi 10 mars 2026 à 18 h 30",
            "Stade Léo-Lagrange",
            "openstreetmap.org",
            "bouteille d'eau",
            "Karim",
            "01 48 47 00 00",
            "https://sport.example.org/r/7f3a9c/yes",
            "https://sport.example.org/r/7f3a9c/no",
        ] {
            assert!(rem.text.contains(needle), "reminder text lacks {needle}");
        }
        // URLs stay readable in href; '&' is escaped.
        assert!(rem
            .html
            .contains("href=\"https://sport.example.org/r/7f3a9c/yes\""));
        assert!(rem.html.contains("?mlat=48.90220&amp;mlon=2.48280"));
        assert!(rem.html.contains("bouteille d&#39;eau"));

        let inv = r(MessageKind::Invitation, Lang::En);
        for needle in ["every Tuesday", "1 hour 30 min", "k2v8q4.ics", "attached"] {
            assert!(inv.text.contains(needle), "invitation text lacks {needle}");
        }

        let upd = r(MessageKind::Update, Lang::Fr);
        assert!(upd.text.contains("commence à 19 h au lieu de 18 h 30"));
        assert!(upd.html.contains("commence à 19 h au lieu de 18 h 30"));

        let can = r(MessageKind::Cancellation, Lang::En);
        assert!(can.text.contains("is cancelled"));
        assert!(
            !can.text.contains("7f3a9c/yes"),
            "no RSVP in a cancellation"
        );

        let wait = r(MessageKind::Waitlisted, Lang::Fr);
        assert!(wait.text.contains("place n° 3"));

        let failed = r(MessageKind::DeliveryFailed, Lang::Fr);
        assert!(failed.text.contains("Amina K."));
        assert!(failed.text.contains("P-4821"));
        assert!(failed.text.contains("l'invitation"));
        assert!(!failed.text.starts_with("Copie pour"));
        let failed_en = r(MessageKind::DeliveryFailed, Lang::En);
        assert!(failed_en.subject.contains("Amina K."));
        assert!(failed_en.text.contains("the invitation"));
    }

    #[test]
    fn copy_line_first() {
        let t = templates();
        for (lang, prefix) in [
            (Lang::Fr, "Copie pour Amina K. — "),
            (Lang::En, "Copy for Amina K. — "),
        ] {
            let mut ctx = MailContext::sample(MessageKind::Reminder, lang);
            ctx.recipient_name = "Claire".to_owned();
            ctx.copy_for = Some("Amina K.".to_owned());
            let r = t.render(lang, &ctx).unwrap();
            assert!(r.text.starts_with(prefix), "{:?}", r.text);
            assert!(r.html.contains(prefix));
            // Not a copy: no copy line.
            let plain = t
                .render(lang, &MailContext::sample(MessageKind::Reminder, lang))
                .unwrap();
            assert!(!plain.text.contains(prefix.trim_end_matches(" — ")));
        }
    }

    #[test]
    fn html_is_escaped_text_is_not() {
        let t = templates();
        let mut ctx = MailContext::sample(MessageKind::Reminder, Lang::En);
        ctx.session_title = "Boxing <b>& fitness</b>".to_owned();
        let r = t.render(Lang::En, &ctx).unwrap();
        assert!(r.html.contains("Boxing &lt;b&gt;&amp; fitness&lt;/b&gt;"));
        assert!(!r.html.contains("<b>&"));
        assert!(r.text.contains("Boxing <b>& fitness</b>"));
    }

    #[test]
    fn subject_is_one_line_even_with_newlines_in_data() {
        let t = templates();
        let mut ctx = MailContext::sample(MessageKind::Reminder, Lang::Fr);
        ctx.session_title = "Football\r\nBcc: x@example.org".to_owned();
        ctx.summary = "Football\n— AS Bondy".to_owned();
        let r = t.render(Lang::Fr, &ctx).unwrap();
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
    }

    /// Copies the templates into a fresh temp folder.
    fn temp_copy(tag: &str) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("email-templates");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dst = std::env::temp_dir().join(format!(
            "mail-render-test-{tag}-{}-{nanos}",
            std::process::id()
        ));
        for lang in Lang::ALL {
            let to = dst.join(lang.as_str());
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(src.join(lang.as_str())).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
        dst
    }

    #[test]
    fn broken_template_names_the_file() {
        let dir = temp_copy("syntax");
        let bad = dir.join("fr").join("reminder.html");
        let mut src = std::fs::read_to_string(&bad).unwrap();
        src.push_str("\n{% if %}oops{% endif %}\n");
        std::fs::write(&bad, src).unwrap();
        let err = Templates::load(Some(&dir)).unwrap_err();
        let msg = err.to_string();
        std::fs::remove_dir_all(&dir).ok();
        assert!(matches!(err, TemplateError::Syntax { .. }), "{msg}");
        assert!(msg.starts_with(&bad.display().to_string()), "{msg}");
        assert!(msg.contains(": syntax error: "), "{msg}");
        assert!(!msg.contains("syntax error: syntax error"), "{msg}");
        assert!(msg.contains("line "), "{msg}");
    }

    #[test]
    fn misspelt_variable_fails_load() {
        let dir = temp_copy("undefined");
        let bad = dir.join("en").join("waitlisted.txt");
        let src = std::fs::read_to_string(&bad).unwrap();
        std::fs::write(
            &bad,
            src.replacen("{{ session_title }}", "{{ sesion_title }}", 1),
        )
        .unwrap();
        let err = Templates::load(Some(&dir)).unwrap_err();
        let msg = err.to_string();
        std::fs::remove_dir_all(&dir).ok();
        assert!(matches!(err, TemplateError::Render { .. }), "{msg}");
        assert!(msg.starts_with(&bad.display().to_string()), "{msg}");
        assert!(msg.contains("undefined"), "{msg}");
    }

    #[test]
    fn printing_none_fails_load() {
        let dir = temp_copy("none");
        let bad = dir.join("fr").join("reminder.txt");
        let mut src = std::fs::read_to_string(&bad).unwrap();
        src.push_str("{% block after_details %}Plan : {{ map_url }}{% endblock %}\n");
        std::fs::write(&bad, src).unwrap();
        let err = Templates::load(Some(&dir)).unwrap_err();
        let msg = err.to_string();
        std::fs::remove_dir_all(&dir).ok();
        assert!(msg.starts_with(&bad.display().to_string()), "{msg}");
        assert!(msg.contains("none"), "{msg}");
    }

    #[test]
    fn missing_file_and_dir() {
        let dir = temp_copy("missing");
        let gone = dir.join("en").join("promotion.subject.txt");
        std::fs::remove_file(&gone).unwrap();
        let msg = Templates::load(Some(&dir)).unwrap_err().to_string();
        assert_eq!(
            msg,
            format!("{}: missing required template", gone.display())
        );

        std::fs::remove_dir_all(dir.join("en")).unwrap();
        let msg = Templates::load(Some(&dir)).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            msg.starts_with(&dir.join("en").display().to_string()),
            "{msg}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration_filter(90, "fr"), "1 h 30");
        assert_eq!(duration_filter(60, "fr"), "1 h");
        assert_eq!(duration_filter(45, "fr"), "45 min");
        assert_eq!(duration_filter(90, "en"), "1 hour 30 min");
        assert_eq!(duration_filter(120, "en"), "2 hours");
        assert_eq!(duration_filter(45, "en"), "45 minutes");
    }
}
