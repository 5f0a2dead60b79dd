//! Templates, words and assets, all compiled into the binary: the pages look the same
//! from any working directory.

use std::sync::LazyLock;

use minijinja::value::{Kwargs, Value};
use minijinja::{context, AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior};
use poem::http::{header, StatusCode};
use poem::web::Path;
use poem::{handler, Request, Response};

pub use crate::mail::lang::Lang;

use super::request::path_of;
use super::session::SignedIn;
use super::words;
use super::PageError;

/// (name, source) of every page template.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("error.html", include_str!("templates/error.html")),
    ("login.html", include_str!("templates/login.html")),
    (
        "login_confirm.html",
        include_str!("templates/login_confirm.html"),
    ),
    ("home.html", include_str!("templates/home.html")),
    ("search.html", include_str!("templates/search.html")),
    ("session.html", include_str!("templates/session.html")),
    (
        "participants.html",
        include_str!("templates/participants.html"),
    ),
    (
        "participant.html",
        include_str!("templates/participant.html"),
    ),
    (
        "participant_form.html",
        include_str!("templates/participant_form.html"),
    ),
    (
        "participant_erase.html",
        include_str!("templates/participant_erase.html"),
    ),
    ("schedule.html", include_str!("templates/schedule.html")),
    ("club.html", include_str!("templates/club.html")),
    ("club_form.html", include_str!("templates/club_form.html")),
    (
        "club_sessions.html",
        include_str!("templates/club_sessions.html"),
    ),
    (
        "club_calendar.html",
        include_str!("templates/club_calendar.html"),
    ),
    (
        "session_form.html",
        include_str!("templates/session_form.html"),
    ),
    (
        "session_cancel.html",
        include_str!("templates/session_cancel.html"),
    ),
    ("occurrence.html", include_str!("templates/occurrence.html")),
    ("check_in.html", include_str!("templates/check_in.html")),
    (
        "admin_clubs.html",
        include_str!("templates/admin_clubs.html"),
    ),
    ("admin_club.html", include_str!("templates/admin_club.html")),
    (
        "admin_structures.html",
        include_str!("templates/admin_structures.html"),
    ),
    (
        "admin_structure.html",
        include_str!("templates/admin_structure.html"),
    ),
    (
        "admin_users.html",
        include_str!("templates/admin_users.html"),
    ),
    (
        "admin_outbox.html",
        include_str!("templates/admin_outbox.html"),
    ),
    ("stats.html", include_str!("templates/stats.html")),
];

/// (file, content type, body) of the assets under `/static/`.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("static/app.js"),
    ),
    (
        "check-in.js",
        "text/javascript; charset=utf-8",
        include_str!("static/check-in.js"),
    ),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("static syntax config is valid"),
    );
    env.add_function("t", translate);
    // `{{ errors.title | said }}`: an operation's message in the page's language.
    env.add_filter("said", |state: &State, text: String| {
        let lang = state
            .lookup("lang")
            .and_then(|v| v.as_str().and_then(Lang::parse))
            .unwrap_or(Lang::Fr);
        words::message(lang, &text)
    });
    // An absent optional value (a field never typed) prints as nothing; text is escaped
    // as the emails escape it (minijinja's own escaping also turns `/` into `&#x2f;`).
    env.set_formatter(|out, state, value| {
        if value.is_none() {
            return Ok(());
        }
        match value.as_str() {
            Some(text) if !value.is_safe() => {
                out.write_str(&crate::mail::templates::escape_html(text))?;
                Ok(())
            }
            _ => minijinja::escape_formatter(out, state, value),
        }
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("page template {name}: {e:#}"));
    }
    env
});

/// `{{ t("key") }}`, or `{{ t("key", n=3) }}` for "{n}" in the text: the words of the
/// page's language. An unknown key is an error, so a test rendering every page finds it.
fn translate(state: &State, key: &str, args: Kwargs) -> Result<String, Error> {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or(Lang::Fr);
    let mut text = words::get(lang, key)
        .ok_or_else(|| Error::new(ErrorKind::UndefinedError, format!("no words for {key:?}")))?
        .to_owned();
    for name in args.args() {
        let value: Value = args.get(name)?;
        text = text.replace(&format!("{{{name}}}"), &value.to_string());
    }
    Ok(text)
}

/// Makes sure every template compiles (start-up and tests).
pub fn check() -> Result<(), String> {
    for (name, _) in TEMPLATES {
        ENV.get_template(name)
            .map_err(|e| format!("{name}: {e:#}"))?;
    }
    Ok(())
}

/// Any serialisable value for a template.
pub fn value<T: serde::Serialize>(x: T) -> Value {
    Value::from(minijinja::value::Serde(x))
}

/// What every page's layout reads besides its own values.
pub struct Frame<'a> {
    pub lang: Lang,
    pub me: Option<&'a SignedIn>,
    /// The anonymous CSRF token of a page without a session (sign-in forms).
    pub csrf: Option<String>,
    /// The path, to come back after changing language, and to mark the menu.
    pub path: String,
}

impl<'a> Frame<'a> {
    pub fn of(me: &'a SignedIn, request: &Request) -> Self {
        Self {
            lang: me.lang,
            me: Some(me),
            csrf: None,
            path: path_of(request),
        }
    }
}

/// Renders `template` in the frame, with the page's own values.
pub fn render(frame: &Frame<'_>, template: &str, values: Value) -> Result<String, PageError> {
    let user = frame.me.map(|me| {
        context! {
            name => me.user.name.clone(),
            role => me.user.role.as_str(),
        }
    });
    let csrf = frame
        .me
        .map(|me| me.csrf_token.clone())
        .or_else(|| frame.csrf.clone());
    let ctx = context! {
        lang => frame.lang.as_str(),
        user => user,
        csrf_token => csrf,
        path => frame.path.clone(),
        ..values
    };
    Ok(ENV.get_template(template)?.render(ctx)?)
}

/// A whole HTML page answer.
pub fn page(frame: &Frame<'_>, status: StatusCode, template: &str, values: Value) -> Response {
    match render(frame, template, values) {
        Ok(body) => html(status, body),
        Err(error) => {
            tracing::error!(%error, template, "page failed");
            error_page(
                frame.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                None,
            )
        }
    }
}

pub fn html(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "same-origin")
        .header(
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'",
        )
        .body(body)
}

/// The page of an error: what happened and where to go from there.
pub fn error_page(lang: Lang, status: StatusCode, kind: &str, detail: Option<String>) -> Response {
    let frame = Frame {
        lang,
        me: None,
        csrf: None,
        path: String::new(),
    };
    let body = render(
        &frame,
        "error.html",
        context! { kind => kind, status => status.as_u16(), detail => detail },
    )
    .unwrap_or_else(|_| format!("<!DOCTYPE html><title>{status}</title><h1>{status}</h1>"));
    html(status, body)
}

/// A redirect after a form (303: the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .finish()
}

#[handler]
pub fn asset(Path(file): Path<String>) -> Result<Response, poem::Error> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    Ok(Response::builder()
        .content_type(*content_type)
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .body(*body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page renders in both languages with nothing but its frame (empty lists,
    /// absent values): no unknown word, no template error.
    #[test]
    fn every_page_renders_bare_in_both_languages() {
        for lang in Lang::ALL {
            let frame = Frame {
                lang,
                me: None,
                csrf: Some("token".into()),
                path: "/app".into(),
            };
            for (name, _) in TEMPLATES {
                if matches!(*name, "base.html" | "macros.html") {
                    continue;
                }
                let values = context! {
                    kind => "not_found", status => 404, errors => context! {}, q => context! {},
                    f => context! {}, p => context! { situation => "other" },
                    club => context! { partnership => "active" },
                    session => context! { status => "published" }, title => "t", body => "b",
                    o => context! { lines => Vec::<Value>::new() }, walk_ins => vec![context! { count => 0 }],
                    totals => context! {},
                };
                if let Err(error) = render(&frame, name, values) {
                    panic!("{name} ({}): {error}", lang.as_str());
                }
            }
        }
    }
}
