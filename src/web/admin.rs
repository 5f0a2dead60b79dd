//! Programme staff's pages: partner clubs and structures, accounts, and deliveries.
//! Every handler here answers a 403 page to any other role.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{context, Value};
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Request};
use uuid::Uuid;

use super::club::{changes_of, profile_of, sports_of};
use super::forms::{Errors, Fields};
use super::home::local;
use super::session::{Posted, SignedIn};
use super::view::{page, see_other, value, Frame, Lang};
use super::{PageError, PageResult};
use crate::domain::access::Role;
use crate::domain::clubs::PartnershipStatus;
use crate::domain::messages::{masked, masked_in, Delivery, MessageKind};
use crate::domain::{cursor, FieldError};
use crate::ops::clubs::{create_club, update_club, ClubChanges, NewClub, PartnershipTerms};
use crate::ops::outbox::{retry_dead_of_kind, retry_message};
use crate::ops::structures::{create_structure, update_structure, StructureFields};
use crate::ops::users::{create_user, update_user, Actor, NewUser, UserChanges};
use crate::ops::OpError;
use crate::state::AppState;
use crate::store::clubs::{Club, ClubFilter};
use crate::store::structures::Structure;
use crate::store::users::User;

const CLUBS_PAGE: i64 = 50;
const OUTBOX_PAGE: i64 = 50;

fn admin(me: &SignedIn) -> Result<(), PageError> {
    match me.user.role {
        Role::Admin => Ok(()),
        _ => Err(PageError::Forbidden),
    }
}

fn id_of(text: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(text).map_err(|_| PageError::NotFound)
}

fn when(lang: Lang, at: DateTime<Utc>) -> String {
    let (day, time) = local(lang, at, "Europe/Paris");
    format!("{day}, {time}")
}

// ---------------------------------------------------------------------------
// Clubs
// ---------------------------------------------------------------------------

#[handler]
pub async fn list_clubs(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    admin(&me)?;
    let query = Fields::query(request);
    let partnership = query
        .opt("partnership")
        .and_then(|p| PartnershipStatus::parse(&p));
    let mut found = state
        .store
        .clubs(&ClubFilter {
            sport: query.opt("sport"),
            city: query.opt("city"),
            partnership,
            after: query.opt("after").and_then(|a| cursor::decode(&a).ok()),
            limit: CLUBS_PAGE + 1,
        })
        .await?;
    let next_url = (found.len() as i64 > CLUBS_PAGE).then(|| {
        found.truncate(CLUBS_PAGE as usize);
        let last = found.last().map(|c| (c.name.clone(), c.id));
        let mut next = query.clone();
        next.set("after", cursor::encode(&last));
        format!(
            "/app/admin/clubs?{}",
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    let rows: Vec<Value> = found
        .iter()
        .map(|c| {
            context! {
                id => c.id.to_string(),
                name => c.name.clone(),
                city => c.city.clone(),
                sports => c.sports.join(", "),
                partnership => c.partnership_status.as_str(),
            }
        })
        .collect();
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "admin_clubs.html",
        context! {
            q => value(&query),
            clubs => rows,
            next_url => next_url,
            statuses => PartnershipStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        },
    ))
}

fn club_fields(club: &Club) -> Fields {
    let mut f = profile_of(club);
    f.set(
        "latitude",
        club.latitude.map(|l| l.to_string()).unwrap_or_default(),
    );
    f.set(
        "longitude",
        club.longitude.map(|l| l.to_string()).unwrap_or_default(),
    );
    f.set("partnership.status", club.partnership_status.as_str());
    f.set(
        "partnership.since",
        club.partnership_since
            .map(|d| d.to_string())
            .unwrap_or_default(),
    );
    f.set(
        "partnership.until",
        club.partnership_until
            .map(|d| d.to_string())
            .unwrap_or_default(),
    );
    f.set(
        "partnership.notes",
        club.partnership_notes.clone().unwrap_or_default(),
    );
    f
}

/// What programme staff's club form adds to the profile, read into the operations'
/// terms; unreadable fields named.
struct ClubForm {
    latitude: Option<f64>,
    longitude: Option<f64>,
    partnership: PartnershipTerms,
}

fn read_club(f: &Fields) -> Result<ClubForm, Errors> {
    let mut errors = Errors::default();
    let mut number = |name: &str| match f.opt(name) {
        None => None,
        Some(text) => match text.replace(',', ".").parse::<f64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add(FieldError::new(name, format!("{text:?} is not a number")));
                None
            }
        },
    };
    let latitude = number("latitude");
    let longitude = number("longitude");
    let mut date = |name: &str| match f.opt(name) {
        None => None,
        Some(text) => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(FieldError::new(
                    name,
                    "must be a date with a four-digit year, like 2027-06-30",
                ));
                None
            }
        },
    };
    let since = date("partnership.since");
    let until = date("partnership.until");
    let status = PartnershipStatus::parse(f.get("partnership.status")).unwrap_or_else(|| {
        errors.add(FieldError::new(
            "partnership.status",
            "must be one of prospect, active, paused, ended",
        ));
        PartnershipStatus::Prospect
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ClubForm {
        latitude,
        longitude,
        partnership: PartnershipTerms {
            status,
            since,
            until,
            notes: f.opt("partnership.notes"),
        },
    })
}

async fn club_page(
    state: &AppState,
    me: &SignedIn,
    request: &Request,
    status: StatusCode,
    club: Option<&Club>,
    f: &Fields,
    errors: &Errors,
) -> PageResult {
    let managers: Vec<Value> = match club {
        Some(club) => state
            .store
            .users()
            .await?
            .into_iter()
            .filter(|u| u.club_id == Some(club.id))
            .map(|u| context! { id => u.id.to_string(), name => u.name, disabled => u.disabled })
            .collect(),
        None => Vec::new(),
    };
    let frame = Frame::of(me, request);
    Ok(page(
        &frame,
        status,
        "admin_club.html",
        context! {
            club => club.map(|c| context! { id => c.id.to_string(), name => c.name.clone() }),
            managers => managers,
            f => value(f),
            errors => value(errors),
            statuses => PartnershipStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            saved => Fields::query(request).ticked("saved"),
        },
    ))
}

#[handler]
pub async fn club_new(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    admin(&me)?;
    let mut f = Fields::default();
    f.set("partnership.status", "prospect");
    club_page(
        &state,
        &me,
        request,
        StatusCode::OK,
        None,
        &f,
        &Errors::default(),
    )
    .await
}

#[handler]
pub async fn club_create(request: &Request, state: Data<&AppState>, form: Posted) -> PageResult {
    let Posted { me, fields } = form;
    admin(&me)?;
    let outcome = match read_club(&fields) {
        Err(errors) => Err(errors),
        Ok(c) => match create_club(
            &state.store,
            &me.caller,
            NewClub {
                name: fields.get("name").to_owned(),
                sports: sports_of(&fields),
                address: fields.get("address").to_owned(),
                postal_code: fields.get("postal_code").to_owned(),
                city: fields.get("city").to_owned(),
                latitude: c.latitude,
                longitude: c.longitude,
                contact_email: fields.opt("contact_email"),
                contact_phone: fields.opt("contact_phone"),
                accessibility_notes: fields.opt("accessibility_notes"),
                partnership: Some(c.partnership),
            },
        )
        .await
        {
            Ok(club) => Ok(club),
            Err(error) => Err(Errors::from_op(error)?),
        },
    };
    match outcome {
        Ok(club) => Ok(see_other(&format!("/app/admin/clubs/{}?saved=1", club.id))),
        Err(errors) => {
            club_page(
                &state,
                &me,
                request,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &fields,
                &errors,
            )
            .await
        }
    }
}

#[handler]
pub async fn club_edit(
    request: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    me: SignedIn,
) -> PageResult {
    admin(&me)?;
    let club = state.store.club(id_of(&id)?).await?;
    club_page(
        &state,
        &me,
        request,
        StatusCode::OK,
        Some(&club),
        &club_fields(&club),
        &Errors::default(),
    )
    .await
}

#[handler]
pub async fn club_update(
    request: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    form: Posted,
) -> PageResult {
    let Posted { me, fields } = form;
    admin(&me)?;
    let club = state.store.club(id_of(&id)?).await?;
    let outcome = match read_club(&fields) {
        Err(errors) => Err(errors),
        Ok(c) => match update_club(
            &state.store,
            &me.caller,
            club.id,
            ClubChanges {
                latitude: Some(c.latitude),
                longitude: Some(c.longitude),
                partnership: Some(c.partnership),
                ..changes_of(&fields)
            },
        )
        .await
        {
            Ok(saved) => Ok(saved),
            Err(error) => Err(Errors::from_op(error)?),
        },
    };
    match outcome {
        Ok(saved) => Ok(see_other(&format!("/app/admin/clubs/{}?saved=1", saved.id))),
        Err(errors) => {
            club_page(
                &state,
                &me,
                request,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&club),
                &fields,
                &errors,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------
// Structures
// ---------------------------------------------------------------------------

#[handler]
pub async fn list_structures(
    request: &Request,
    state: Data<&AppState>,
    me: SignedIn,
) -> PageResult {
    admin(&me)?;
    let users = state.store.users().await?;
    let rows: Vec<Value> = state
        .store
        .structures()
        .await?
        .into_iter()
        .map(|s| {
            let workers = users
                .iter()
                .filter(|u| u.structure_id == Some(s.id) && !u.disabled)
                .count();
            context! {
                id => s.id.to_string(),
                name => s.name,
                kind => s.kind,
                city => s.city,
                workers => workers,
            }
        })
        .collect();
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "admin_structures.html",
        context! { structures => rows },
    ))
}

fn structure_fields(s: &Structure) -> Fields {
    let mut f = Fields::default();
    f.set("name", &s.name);
    f.set("kind", &s.kind);
    f.set("city", &s.city);
    f.set("contact_email", s.contact_email.clone().unwrap_or_default());
    f
}

fn read_structure(f: &Fields) -> StructureFields {
    StructureFields {
        name: f.get("name").to_owned(),
        kind: f.get("kind").to_owned(),
        city: f.get("city").to_owned(),
        contact_email: f.opt("contact_email"),
    }
}

async fn structure_page(
    state: &AppState,
    me: &SignedIn,
    request: &Request,
    status: StatusCode,
    structure: Option<&Structure>,
    f: &Fields,
    errors: &Errors,
) -> PageResult {
    let lang = me.lang;
    let workers: Vec<Value> = match structure {
        Some(s) => {
            let last = last_sign_ins(state).await?;
            state
                .store
                .users()
                .await?
                .into_iter()
                .filter(|u| u.structure_id == Some(s.id))
                .map(|u| {
                    context! {
                        id => u.id.to_string(),
                        name => u.name,
                        email => u.email,
                        disabled => u.disabled,
                        last => last.get(&u.id).map(|at| when(lang, *at)),
                    }
                })
                .collect()
        }
        None => Vec::new(),
    };
    let frame = Frame::of(me, request);
    Ok(page(
        &frame,
        status,
        "admin_structure.html",
        context! {
            structure => structure.map(|s| context! { id => s.id.to_string(), name => s.name.clone() }),
            workers => workers,
            f => value(f),
            errors => value(errors),
            saved => Fields::query(request).ticked("saved"),
        },
    ))
}

#[handler]
pub async fn structure_new(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    admin(&me)?;
    let mut f = Fields::default();
    f.set("kind", "shelter");
    structure_page(
        &state,
        &me,
        request,
        StatusCode::OK,
        None,
        &f,
        &Errors::default(),
    )
    .await
}

#[handler]
pub async fn structure_create(
    request: &Request,
    state: Data<&AppState>,
    form: Posted,
) -> PageResult {
    let Posted { me, fields } = form;
    admin(&me)?;
    match create_structure(&state.store, &me.caller, read_structure(&fields)).await {
        Ok(s) => Ok(see_other(&format!(
            "/app/admin/structures/{}?saved=1",
            s.id
        ))),
        Err(error) => {
            let errors = Errors::from_op(error)?;
            structure_page(
                &state,
                &me,
                request,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &fields,
                &errors,
            )
            .await
        }
    }
}

#[handler]
pub async fn structure_edit(
    request: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    me: SignedIn,
) -> PageResult {
    admin(&me)?;
    let structure = state.store.structure(id_of(&id)?).await?;
    structure_page(
        &state,
        &me,
        request,
        StatusCode::OK,
        Some(&structure),
        &structure_fields(&structure),
        &Errors::default(),
    )
    .await
}

#[handler]
pub async fn structure_update(
    request: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    form: Posted,
) -> PageResult {
    let Posted { me, fields } = form;
    admin(&me)?;
    let structure = state.store.structure(id_of(&id)?).await?;
    match update_structure(
        &state.store,
        &me.caller,
        structure.id,
        read_structure(&fields),
    )
    .await
    {
        Ok(s) => Ok(see_other(&format!(
            "/app/admin/structures/{}?saved=1",
            s.id
        ))),
        Err(error) => {
            let errors = Errors::from_op(error)?;
            structure_page(
                &state,
                &me,
                request,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&structure),
                &fields,
                &errors,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------

async fn last_sign_ins(state: &AppState) -> Result<HashMap<Uuid, DateTime<Utc>>, PageError> {
    Ok(state.store.last_sign_ins().await?.into_iter().collect())
}

async fn users_page(
    state: &AppState,
    me: &SignedIn,
    request: &Request,
    status: StatusCode,
    f: &Fields,
    errors: &Errors,
) -> PageResult {
    let lang = me.lang;
    let query = Fields::query(request);
    let role = query.opt("role").and_then(|r| Role::parse(&r));
    let clubs: HashMap<Uuid, String> = state.store.club_names().await?.into_iter().collect();
    let structures: HashMap<Uuid, String> = state
        .store
        .structures()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let last = last_sign_ins(state).await?;
    let line = |u: &User| {
        context! {
            id => u.id.to_string(),
            name => u.name.clone(),
            email => u.email.clone(),
            role => u.role.as_str(),
            disabled => u.disabled,
            me => u.id == me.user.id,
            club_id => u.club_id.map(|c| c.to_string()),
            structure_id => u.structure_id.map(|s| s.to_string()),
            place => u.club_id.and_then(|c| clubs.get(&c).cloned())
                .or_else(|| u.structure_id.and_then(|s| structures.get(&s).cloned())),
            last => last.get(&u.id).map(|at| when(lang, *at)),
        }
    };
    let users: Vec<Value> = state
        .store
        .users()
        .await?
        .iter()
        .filter(|u| role.is_none_or(|r| u.role == r))
        .map(line)
        .collect();
    let mut clubs: Vec<(String, String)> = clubs
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    clubs.sort_by(|a, b| a.1.cmp(&b.1));
    let mut structures: Vec<(String, String)> = structures
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    structures.sort_by(|a, b| a.1.cmp(&b.1));
    let frame = Frame::of(me, request);
    Ok(page(
        &frame,
        status,
        "admin_users.html",
        context! {
            users => users,
            role => role.map(|r| r.as_str()),
            clubs => clubs.into_iter().map(|(id, name)| context! { id, name }).collect::<Vec<_>>(),
            structures => structures.into_iter().map(|(id, name)| context! { id, name }).collect::<Vec<_>>(),
            f => value(f),
            errors => value(errors),
            done => query.opt("done").filter(|d| USER_NOTICES.contains(&d.as_str())),
        },
    ))
}

#[handler]
pub async fn list_users(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    admin(&me)?;
    let mut f = Fields::default();
    f.set("role", "social_worker");
    users_page(&state, &me, request, StatusCode::OK, &f, &Errors::default()).await
}

/// What `?done=` may say after an account change (each has its text).
const USER_NOTICES: [&str; 4] = ["invited", "disable", "enable", "move"];

/// The club or structure chosen in a form, as the new role needs it.
fn place_of(f: &Fields, name: &str) -> Result<Option<Uuid>, FieldError> {
    f.opt(name)
        .map(|text| Uuid::parse_str(&text).map_err(|_| FieldError::new(name, "choose one")))
        .transpose()
}

/// Invites a club manager or a social worker: the account is created and its first
/// sign-in link emailed, in one transaction.
#[handler]
pub async fn invite(request: &Request, state: Data<&AppState>, form: Posted) -> PageResult {
    let Posted { me, fields } = form;
    admin(&me)?;
    // Programme staff are made on the command line; this form invites the two others.
    let role = Role::parse(fields.get("role")).filter(|r| *r != Role::Admin);
    let outcome = match (
        role,
        place_of(&fields, "club_id"),
        place_of(&fields, "structure_id"),
    ) {
        (None, _, _) => Err(OpError::invalid(
            "role",
            "choose club manager or social worker",
        )),
        (_, Err(e), _) | (_, _, Err(e)) => Err(OpError::Invalid(e)),
        (Some(role), Ok(club_id), Ok(structure_id)) => create_user(
            &state.store,
            &state.mailer.signer,
            Actor::Caller(&me.caller),
            NewUser {
                role,
                name: fields.get("name").to_owned(),
                email: fields.get("email").to_owned(),
                // Only the place the role has: both lists are on the form.
                club_id: club_id.filter(|_| role == Role::ClubManager),
                structure_id: structure_id.filter(|_| role == Role::SocialWorker),
            },
        )
        .await
        .map(|_| ())
        // The only rule an insert can break is the unique address: say it beside it.
        .map_err(|e| match e {
            OpError::Conflict(message) => OpError::invalid("email", message),
            other => other,
        }),
    };
    match outcome {
        Ok(()) => Ok(see_other("/app/admin/users?done=invited")),
        Err(error) => {
            let errors = Errors::from_op(error)?;
            users_page(
                &state,
                &me,
                request,
                StatusCode::UNPROCESSABLE_ENTITY,
                &fields,
                &errors,
            )
            .await
        }
    }
}

/// Disables or re-enables an account, or gives it another club or structure.
#[handler]
pub async fn change_user(
    state: Data<&AppState>,
    Path(id): Path<String>,
    form: Posted,
) -> PageResult {
    let Posted { me, fields } = form;
    admin(&me)?;
    let id = id_of(&id)?;
    let changes = match fields.get("action") {
        "disable" => UserChanges {
            disabled: Some(true),
            ..Default::default()
        },
        "enable" => UserChanges {
            disabled: Some(false),
            ..Default::default()
        },
        "move" => {
            let club_id = place_of(&fields, "club_id").map_err(OpError::Invalid)?;
            let structure_id = place_of(&fields, "structure_id").map_err(OpError::Invalid)?;
            if club_id.is_none() && structure_id.is_none() {
                return Err(OpError::invalid("club_id", "choose one").into());
            }
            UserChanges {
                club_id,
                structure_id,
                ..Default::default()
            }
        }
        _ => return Err(PageError::Conflict("choose what to change".into())),
    };
    update_user(&state.store, &me.caller, id, changes).await?;
    Ok(see_other(&format!(
        "/app/admin/users?done={}#user-{id}",
        fields.get("action")
    )))
}

// ---------------------------------------------------------------------------
// Deliveries
// ---------------------------------------------------------------------------

#[handler]
pub async fn list_outbox(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    admin(&me)?;
    let lang = me.lang;
    let query = Fields::query(request);
    let status = Delivery::parse(query.get("status")).unwrap_or(Delivery::Dead);
    let before = query.opt("before").and_then(|b| b.parse::<i64>().ok());
    let messages = state
        .store
        .messages(Some(status), before, OUTBOX_PAGE)
        .await?;
    let next_url = (messages.len() as i64 == OUTBOX_PAGE)
        .then(|| {
            messages
                .last()
                .map(|m| format!("/app/admin/outbox?status={status}&before={}", m.seq))
        })
        .flatten();
    let rows: Vec<Value> = messages
        .iter()
        .map(|m| {
            context! {
                id => m.id.to_string(),
                kind => m.kind.as_str(),
                audience => m.audience.as_str(),
                recipient => m.recipient.as_deref().map(masked),
                attempts => m.attempts,
                last_error => m.last_error.as_deref().map(masked_in),
                created => when(lang, m.created_at),
                sent => m.sent_at.map(|at| when(lang, at)),
                dead => m.status == Delivery::Dead,
            }
        })
        .collect();
    let counts = state.store.outbox_counts_by_kind().await?;
    let kinds: Vec<Value> = MessageKind::ALL
        .iter()
        .map(|kind| {
            let n = |s: Delivery| {
                counts
                    .iter()
                    .find(|(k, st, _)| k == kind.as_str() && st == s.as_str())
                    .map(|(_, _, n)| *n)
                    .unwrap_or(0)
            };
            context! {
                kind => kind.as_str(),
                pending => n(Delivery::Pending) + n(Delivery::Sending),
                sent => n(Delivery::Sent),
                dead => n(Delivery::Dead),
                skipped => n(Delivery::Skipped),
            }
        })
        .collect();
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "admin_outbox.html",
        context! {
            status => status.as_str(),
            statuses => Delivery::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            messages => rows,
            kinds => kinds,
            next_url => next_url,
            done => query.opt("done").and_then(|n| n.parse::<u32>().ok()),
        },
    ))
}

#[handler]
pub async fn retry_one(state: Data<&AppState>, Path(id): Path<String>, form: Posted) -> PageResult {
    admin(&form.me)?;
    retry_message(&state.store, &form.me.caller, id_of(&id)?).await?;
    Ok(see_other("/app/admin/outbox?status=dead&done=1"))
}

#[handler]
pub async fn retry_kind(state: Data<&AppState>, form: Posted) -> PageResult {
    let Posted { me, fields } = form;
    admin(&me)?;
    let kind = MessageKind::parse(fields.get("kind"))
        .ok_or_else(|| PageError::Conflict("choose a kind of message".into()))?;
    let n = retry_dead_of_kind(&state.store, &me.caller, kind).await?;
    Ok(see_other(&format!(
        "/app/admin/outbox?status=dead&done={n}"
    )))
}
