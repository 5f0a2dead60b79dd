//! Sign-in by emailed link, sign-out, and the choice of language.

use minijinja::context;
use poem::http::{header, StatusCode};
use poem::web::{Data, Path};
use poem::{handler, Request, Response};

use super::forms::Fields;
use super::request::{cookie, lang_of, path_of};
use super::session::{
    anonymous_token, clear_cookie, same, set_cookie, signed_in, AnonymousPost, Posted, PRE_COOKIE,
    SESSION_COOKIE,
};
use super::view::{page, see_other, Frame, Lang};
use super::PageResult;
use crate::ops::sign_in::{self, LinkRequest, SESSION_IDLE_DAYS};
use crate::state::AppState;

/// A page without a session: its forms' CSRF token comes from the `es_pre` cookie,
/// set here when the browser has none.
fn anonymous_page(
    state: &AppState,
    request: &Request,
    status: StatusCode,
    template: &str,
    values: minijinja::Value,
) -> Response {
    let (seed, fresh) = match cookie(request, PRE_COOKIE) {
        Some(seed) if seed.len() >= 32 => (seed, false),
        _ => (sign_in::random_secret(), true),
    };
    let frame = Frame {
        lang: lang_of(request, None),
        me: None,
        csrf: Some(anonymous_token(state, &seed)),
        path: path_of(request),
    };
    let mut response = page(&frame, status, template, values);
    if fresh {
        if let Ok(value) = set_cookie(state, PRE_COOKIE, &seed, None).parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[handler]
pub async fn show_form(request: &Request, state: Data<&AppState>) -> PageResult {
    if signed_in(request).await?.is_some() {
        return Ok(see_other("/app"));
    }
    Ok(anonymous_page(
        &state,
        request,
        StatusCode::OK,
        "login.html",
        context! { sent => false, email => "" },
    ))
}

/// Always the same page, whether or not the address has an account, and whether or not
/// a limit was reached: the page never tells who has an account.
#[handler]
pub async fn ask_link(
    request: &Request,
    state: Data<&AppState>,
    form: AnonymousPost,
) -> PageResult {
    let email = form.fields.get("email").trim().to_owned();
    if email.is_empty() {
        return Ok(anonymous_page(
            &state,
            request,
            StatusCode::UNPROCESSABLE_ENTITY,
            "login.html",
            context! { sent => false, email => "", missing => true },
        ));
    }
    let client = request
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let outcome =
        sign_in::request_link(&state.store, &state.mailer.signer, &email, &client).await?;
    if outcome == LinkRequest::Limited {
        tracing::info!("sign-in link refused: too many requests");
    }
    Ok(anonymous_page(
        &state,
        request,
        StatusCode::OK,
        "login.html",
        context! { sent => true, email => email },
    ))
}

/// Only a page with a button: mail scanners that follow the link sign nobody in.
#[handler]
pub async fn confirm(request: &Request, state: Data<&AppState>) -> PageResult {
    Ok(anonymous_page(
        &state,
        request,
        StatusCode::OK,
        "login_confirm.html",
        context! { invalid => false },
    ))
}

#[handler]
pub async fn open_session(
    request: &Request,
    state: Data<&AppState>,
    Path(token): Path<String>,
    _form: AnonymousPost,
) -> PageResult {
    let Some(session) = sign_in::sign_in(&state.store, &token).await? else {
        return Ok(anonymous_page(
            &state,
            request,
            StatusCode::GONE,
            "login_confirm.html",
            context! { invalid => true },
        ));
    };
    tracing::info!(user_id = %session.user.id, "signed in");
    let mut response = see_other("/app");
    let headers = response.headers_mut();
    if let Ok(value) = set_cookie(
        &state,
        SESSION_COOKIE,
        &session.cookie,
        Some(SESSION_IDLE_DAYS),
    )
    .parse()
    {
        headers.append(header::SET_COOKIE, value);
    }
    let (name, value) = clear_cookie(PRE_COOKIE);
    if let Ok(value) = value.parse() {
        headers.append(name, value);
    }
    Ok(response)
}

#[handler]
pub async fn sign_out(state: Data<&AppState>, form: Posted) -> PageResult {
    state.store.end_web_session(&form.me.session_hash).await?;
    let mut response = see_other("/login");
    let (name, value) = clear_cookie(SESSION_COOKIE);
    if let Ok(value) = value.parse() {
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

/// The reader's choice of language: kept on the account when signed in, in a cookie
/// otherwise.
#[handler]
pub async fn choose_lang(request: &Request, state: Data<&AppState>, fields: Fields) -> PageResult {
    let lang = Lang::parse(fields.get("lang")).unwrap_or(Lang::Fr);
    let back = fields.get("back");
    // Only a path of this site: never a way to send someone elsewhere (browsers read
    // `/\\host` and `//host` as another site).
    let local = back.starts_with('/')
        && !back[1..].starts_with(['/', '\\'])
        && !back.chars().any(|c| c == '\\' || c.is_control());
    let back = if local { back } else { "/app" };
    let token = fields.get("csrf_token");
    match signed_in(request).await? {
        Some(me) if same(token, &me.csrf_token) => {
            state.store.set_user_lang(me.user.id, lang.as_str()).await?;
        }
        None if cookie(request, PRE_COOKIE)
            .is_some_and(|seed| same(token, &anonymous_token(&state, &seed))) => {}
        _ => return Err(super::PageError::Csrf),
    }
    let mut response = see_other(back);
    if let Ok(value) = set_cookie(&state, "es_lang", lang.as_str(), Some(365)).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
