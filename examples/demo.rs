//! A demo programme, seeded through the HTTP API of the real service, then its impact
//! table: what a newcomer runs to see the whole flow in a minute.
//!
//! Starts the service in-process on the SQLite database under `DATA_DIR` (`./data` by
//! default, so that `cargo run -- serve` afterwards finds the same programme and the
//! emails land in `DATA_DIR/outbox` as `.eml` files), and, each actor with their own
//! token:
//!
//! * programme staff sign 7 clubs in 6 French cities (football, boxe, pétanque, yoga,
//!   natation), 3 partner structures (a shelter, an association, a public service),
//!   and create the club managers' and social workers' accounts;
//! * each club manager publishes weekly sessions that started 10 weeks ago (a season);
//! * social workers register 42 participants in every situation, some without email
//!   (their social worker gets the copies), some in English;
//! * the season's enrollments are written as of their past dates, then every past
//!   occurrence gets its attendance over HTTP (programme staff for those older than 30
//!   days, the club's manager for recent ones): mostly present, some absent (two
//!   absences in a row send the social worker an `absence_alert`), some excused, a few
//!   walk-ins;
//! * then the present: newcomers enrolled through the API (one waitlisted, then
//!   promoted when someone leaves), an occurrence cancelled by a club, "I can't come"
//!   answers for the next occurrences;
//! * finally `GET /api/v1/stats/encounters` for the season, grouped by club, sport,
//!   month, situation and structure, printed as tables, and the emails written, per
//!   kind (`GET /api/v1/admin/outbox`), once the outbox worker has delivered them.
//!
//! ```text
//! scripts/demo.sh            # builds, refuses a ./data that already holds a programme
//! scripts/demo.sh --fresh    # moves the old ./data aside first
//! DATA_DIR=/tmp/demo cargo run --example demo
//! ```
//!
//! Deterministic: a fixed-seed RNG draws who comes (the dates follow today's).
//! The accounts' tokens are written to `DATA_DIR/demo-tokens.env` to explore afterwards.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use entourage_sport::config::{Config, Settings};
use entourage_sport::domain::access::Role;
use entourage_sport::domain::places::{EnrollmentStatus, Scope};
use entourage_sport::domain::rsvp::Answer;
use entourage_sport::domain::schedule::OccurrenceKey;
use entourage_sport::ops::enrollments::import_enrollment;
use entourage_sport::ops::rsvp::answer_rsvp;
use entourage_sport::ops::users::{create_user, Actor, NewUser};
use entourage_sport::store::enrollments::NewEnrollment;
use entourage_sport::store::Store;
use entourage_sport::Service;

/// The seed of every random draw: the same programme on every run.
const SEED: u64 = 20_260_310;
/// How many weeks ago the season started.
const SEASON_WEEKS: i64 = 10;
/// Older occurrences are recorded by programme staff (a manager may record for 30 days).
const MANAGER_DAYS: i64 = 29;
/// Longest wait for the outbox worker to deliver what the demo caused.
const DRAIN_LIMIT: Duration = Duration::from_secs(90);
const TIMEZONE: &str = "Europe/Paris";
const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

// ---------------------------------------------------------------------------------
// The programme
// ---------------------------------------------------------------------------------

struct ClubSpec {
    name: &'static str,
    sports: &'static [&'static str],
    address: &'static str,
    postal_code: &'static str,
    city: &'static str,
    latitude: f64,
    longitude: f64,
    phone: &'static str,
    /// The club's manager: name and email.
    manager: (&'static str, &'static str),
}

const CLUBS: &[ClubSpec] = &[
    ClubSpec {
        name: "AS Bondy",
        sports: &["football", "boxe"],
        address: "Stade Léo Lagrange, 2 allée du Stade",
        postal_code: "93140",
        city: "Bondy",
        latitude: 48.9022,
        longitude: 2.4828,
        phone: "+33 1 48 47 00 11",
        manager: ("Mohamed Cherif", "m.cherif@asbondy.example.org"),
    },
    ClubSpec {
        name: "Boxing Club Marseille Nord",
        sports: &["boxe"],
        address: "14 boulevard Ferdinand de Lesseps",
        postal_code: "13015",
        city: "Marseille",
        latitude: 43.3339,
        longitude: 5.3621,
        phone: "+33 4 91 60 00 22",
        manager: ("Sabrina Ait-Ali", "sabrina@bcmn.example.org"),
    },
    ClubSpec {
        name: "La Boule de la Belle de Mai",
        sports: &["pétanque"],
        address: "Boulodrome, 41 rue Loubon",
        postal_code: "13003",
        city: "Marseille",
        latitude: 43.3139,
        longitude: 5.3877,
        phone: "+33 4 91 50 00 33",
        manager: ("Jean-Pierre Rossi", "jp.rossi@belledemai.example.org"),
    },
    ClubSpec {
        name: "Yoga Croix-Rousse",
        sports: &["yoga"],
        address: "7 rue Dumenge",
        postal_code: "69004",
        city: "Lyon",
        latitude: 45.7772,
        longitude: 4.8301,
        phone: "+33 4 78 28 00 44",
        manager: ("Hélène Perrin", "helene@yogacroixrousse.example.org"),
    },
    ClubSpec {
        name: "Lille Sud Football",
        sports: &["football"],
        address: "Stade Jean Bouin, rue Jean Bouin",
        postal_code: "59000",
        city: "Lille",
        latitude: 50.6139,
        longitude: 3.0588,
        phone: "+33 3 20 53 00 55",
        manager: ("Rachid Bensaïd", "rachid@lillesudfoot.example.org"),
    },
    ClubSpec {
        name: "Toulouse Natation Garonne",
        sports: &["natation"],
        address: "Piscine Alfred Nakache, allée Gabriel Biénès",
        postal_code: "31400",
        city: "Toulouse",
        latitude: 43.5937,
        longitude: 1.4460,
        phone: "+33 5 61 22 00 66",
        manager: ("Isabelle Fournier", "isabelle@tng.example.org"),
    },
    ClubSpec {
        name: "Nantes Erdre Sports",
        sports: &["natation", "pétanque"],
        address: "12 quai de Versailles",
        postal_code: "44000",
        city: "Nantes",
        latitude: 47.2262,
        longitude: -1.5530,
        phone: "+33 2 40 20 00 77",
        manager: ("Gwenaëlle Le Floch", "gwen@erdresports.example.org"),
    },
];

struct SessionSpec {
    club: usize,
    title: &'static str,
    sport: &'static str,
    /// 0 = Monday.
    weekday: u32,
    time: &'static str,
    minutes: i32,
    capacity: i32,
    what_to_bring: &'static str,
    coach: &'static str,
}

const SESSIONS: &[SessionSpec] = &[
    SessionSpec {
        club: 0,
        title: "Football loisir",
        sport: "football",
        weekday: 1,
        time: "18:30",
        minutes: 90,
        capacity: 6,
        what_to_bring: "baskets, gourde, une tenue de rechange",
        coach: "Mohamed",
    },
    SessionSpec {
        club: 0,
        title: "Boxe éducative",
        sport: "boxe",
        weekday: 3,
        time: "19:00",
        minutes: 60,
        capacity: 5,
        what_to_bring: "baskets, serviette (gants prêtés)",
        coach: "Nordine",
    },
    SessionSpec {
        club: 1,
        title: "Boxe loisir",
        sport: "boxe",
        weekday: 2,
        time: "18:00",
        minutes: 90,
        capacity: 5,
        what_to_bring: "baskets, gourde (gants et bandes prêtés)",
        coach: "Sabrina",
    },
    SessionSpec {
        club: 2,
        title: "Pétanque du samedi",
        sport: "pétanque",
        weekday: 5,
        time: "14:30",
        minutes: 120,
        capacity: 8,
        what_to_bring: "rien : boules prêtées, casquette l'été",
        coach: "Jean-Pierre",
    },
    SessionSpec {
        club: 3,
        title: "Yoga doux",
        sport: "yoga",
        weekday: 0,
        time: "18:00",
        minutes: 60,
        capacity: 6,
        what_to_bring: "une tenue souple (tapis prêté)",
        coach: "Hélène",
    },
    SessionSpec {
        club: 4,
        title: "Football du samedi",
        sport: "football",
        weekday: 5,
        time: "10:00",
        minutes: 90,
        capacity: 8,
        what_to_bring: "baskets ou crampons, gourde",
        coach: "Rachid",
    },
    SessionSpec {
        club: 5,
        title: "Natation adultes",
        sport: "natation",
        weekday: 4,
        time: "12:15",
        minutes: 60,
        capacity: 4,
        what_to_bring: "maillot, bonnet, serviette",
        coach: "Isabelle",
    },
    SessionSpec {
        club: 6,
        title: "Natation découverte",
        sport: "natation",
        weekday: 2,
        time: "12:30",
        minutes: 60,
        capacity: 4,
        what_to_bring: "maillot, bonnet, serviette",
        coach: "Erwan",
    },
    SessionSpec {
        club: 6,
        title: "Pétanque au bord de l'Erdre",
        sport: "pétanque",
        weekday: 3,
        time: "14:00",
        minutes: 120,
        capacity: 6,
        what_to_bring: "rien : boules prêtées",
        coach: "Gwenaëlle",
    },
];

/// Name, kind, city, contact email.
const STRUCTURES: &[(&str, &str, &str, &str)] = &[
    (
        "CHRS Les Tilleuls",
        "shelter",
        "Bondy",
        "accueil@les-tilleuls.example.org",
    ),
    (
        "Solidarités Nouvelles",
        "association",
        "Lyon",
        "contact@solidarites-nouvelles.example.org",
    ),
    (
        "CCAS de Marseille",
        "public_service",
        "Marseille",
        "action-sociale@ccas-marseille.example.org",
    ),
];

/// Social workers: name, email, structure.
const WORKERS: &[(&str, &str, usize)] = &[
    ("Amina Diallo", "amina.diallo@les-tilleuls.example.org", 0),
    ("Julien Roche", "julien.roche@les-tilleuls.example.org", 0),
    ("Nadia Haddad", "nadia.haddad@ccas-marseille.example.org", 2),
    ("Karim Benali", "karim.benali@ccas-marseille.example.org", 2),
    (
        "Claire Morel",
        "claire.morel@solidarites-nouvelles.example.org",
        1,
    ),
    (
        "Sofia Lambert",
        "sofia.lambert@solidarites-nouvelles.example.org",
        1,
    ),
    (
        "Marc Durand",
        "marc.durand@solidarites-nouvelles.example.org",
        1,
    ),
    (
        "Yann Le Goff",
        "yann.legoff@solidarites-nouvelles.example.org",
        1,
    ),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mail {
    /// Their own address; everything goes to them.
    Own,
    /// Their own address, and their social worker gets a copy.
    OwnAndReferrer,
    /// No address: their social worker gets everything.
    None,
}

struct Person {
    first: &'static str,
    last: &'static str,
    situation: &'static str,
    language: &'static str,
    mail: Mail,
    worker: usize,
    sessions: &'static [usize],
    /// Week of the season they started (0 = the first).
    from_week: i64,
}

#[allow(clippy::too_many_arguments)]
const fn p(
    first: &'static str,
    last: &'static str,
    situation: &'static str,
    language: &'static str,
    mail: Mail,
    worker: usize,
    sessions: &'static [usize],
    from_week: i64,
) -> Person {
    Person {
        first,
        last,
        situation,
        language,
        mail,
        worker,
        sessions,
        from_week,
    }
}

use Mail::{None as NoMail, Own, OwnAndReferrer};

/// The season's participants, enrolled as of their start week: first and last name,
/// situation, language, email, social worker, sessions, start week.
#[rustfmt::skip]
const SEASON: &[Person] = &[
    // Bondy: football (6 places) and boxe (5 places, full from week 3).
    p("Moussa",    "Keita",     "shelter",           "fr", Own,            0, &[0, 1], 0),
    p("Yacine",    "Mebarki",   "street",            "fr", NoMail,         0, &[0],    0),
    p("Dylan",     "Petit",     "young_care_leaver", "fr", Own,            1, &[0, 1], 0),
    p("Abdoulaye", "Traoré",    "migrant",           "fr", NoMail,         1, &[0],    2),
    p("Samir",     "Ouali",     "shelter",           "fr", OwnAndReferrer, 0, &[1],    0),
    p("Tariq",     "Ahmadi",    "migrant",           "en", Own,            1, &[1],    0),
    p("Kevin",     "Martin",    "street",            "fr", Own,            0, &[0],    0),
    p("Ibrahim",   "Sow",       "young_care_leaver", "fr", Own,            1, &[1],    3),
    // Marseille: boxe and pétanque.
    p("Rayan",     "Belkacem",  "young_care_leaver", "fr", Own,            3, &[2],    0),
    p("Inès",      "Boudjema",  "single_parent",     "fr", Own,            2, &[2],    0),
    p("Lucas",     "Ferrand",   "street",            "fr", NoMail,         3, &[2],    1),
    p("Olena",     "Kovalenko", "migrant",           "en", Own,            2, &[2, 3], 0),
    p("Marcel",    "Giraud",    "isolated_senior",   "fr", NoMail,         2, &[3],    0),
    p("Josiane",   "Fabre",     "isolated_senior",   "fr", Own,            2, &[3],    0),
    p("Gérard",    "Blanc",     "isolated_senior",   "fr", OwnAndReferrer, 3, &[3],    0),
    p("Fatima",    "Zerrouki",  "single_parent",     "fr", Own,            3, &[3],    2),
    p("Hamid",     "Chergui",   "street",            "fr", NoMail,         3, &[3],    0),
    // Lyon: yoga.
    p("Chloé",     "Vasseur",   "student",           "fr", Own,            4, &[4],    0),
    p("Amadou",    "Camara",    "migrant",           "fr", Own,            4, &[4],    1),
    p("Nathalie",  "Roux",      "single_parent",     "fr", Own,            4, &[4],    0),
    p("Emma",      "Schneider", "student",           "en", Own,            4, &[4],    4),
    p("Bernard",   "Lefèvre",   "other",             "fr", NoMail,         4, &[4],    0),
    // Lille: football.
    p("Mehdi",     "Amrani",    "young_care_leaver", "fr", Own,            5, &[5],    0),
    p("Thomas",    "Dubois",    "street",            "fr", NoMail,         5, &[5],    0),
    p("Jordan",    "Lemaire",   "shelter",           "fr", Own,            5, &[5],    0),
    p("Hugo",      "Vermeulen", "student",           "fr", Own,            5, &[5],    2),
    p("Daniel",    "Okafor",    "migrant",           "en", Own,            5, &[5],    0),
    p("Steve",     "Caron",     "other",             "fr", OwnAndReferrer, 5, &[5],    5),
    // Toulouse: natation (4 places).
    p("Léa",       "Garcia",    "student",           "fr", Own,            6, &[6],    0),
    p("Sandrine",  "Martinez",  "single_parent",     "fr", Own,            6, &[6],    0),
    p("Aziz",      "Rahmani",   "migrant",           "fr", NoMail,         6, &[6],    1),
    p("Paulette",  "Sabatier",  "isolated_senior",   "fr", Own,            6, &[6],    3),
    // Nantes: natation and pétanque.
    p("Camille",   "Moreau",    "other",             "fr", Own,            7, &[7],    0),
    p("Noah",      "Bertin",    "young_care_leaver", "fr", Own,            7, &[7, 8], 0),
    p("Grace",     "Mensah",    "migrant",           "en", Own,            7, &[7],    2),
    p("René",      "Guérin",    "isolated_senior",   "fr", NoMail,         7, &[8],    0),
    p("Monique",   "Le Bris",   "isolated_senior",   "fr", Own,            7, &[8],    0),
    p("Sébastien", "Hervé",     "street",            "fr", NoMail,         7, &[8],    1),
    p("Anaïs",     "Tessier",   "shelter",           "fr", Own,            7, &[8],    0),
];

/// Registered now and enrolled through the API for the coming weeks.
#[rustfmt::skip]
const NEWCOMERS: &[Person] = &[
    // Boxe in Bondy is full: waitlisted, then promoted when Dylan leaves.
    p("Bilal",     "Mansouri",  "shelter",           "fr", Own,            0, &[1],    0),
    p("Aïcha",     "Konaté",    "single_parent",     "fr", Own,            2, &[2],    0),
    p("Liam",      "Walsh",     "student",           "en", Own,            4, &[4],    0),
];

/// Misses the last two occurrences: an absence alert goes to his social worker, recently.
const STREAK_RECENT: &str = "Kevin";
/// Misses weeks 3 and 4 of the season, then comes back: an alert mid-season.
const STREAK_EARLIER: (&str, [i64; 2]) = ("Hamid", [3, 4]);
/// Leaves boxing after the season (found a job with evening hours): his place goes to
/// the first on the waitlist.
const LEAVER: &str = "Dylan";

const WALK_IN_SITUATIONS: &[Option<&str>] = &[
    Some("street"),
    Some("street"),
    Some("shelter"),
    Some("migrant"),
    Some("student"),
    None,
    None,
];

// ---------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    /// Sends a request and checks the status; the JSON answer (`Null` when empty).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        expect: StatusCode,
    ) -> Result<Value, String> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{}", self.base, path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("{method} {path}: reading the answer: {e}"))?;
        if status != expect {
            return Err(format!(
                "{method} {path}: expected {expect}, got {status}: {text}"
            ));
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| format!("{method} {path}: not JSON: {e}"))
    }

    async fn get(&self, path: &str, token: &str) -> Result<Value, String> {
        self.call(Method::GET, path, token, None, StatusCode::OK)
            .await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Result<Value, String> {
        self.call(Method::POST, path, token, Some(&body), StatusCode::CREATED)
            .await
    }

    async fn put(&self, path: &str, token: &str, body: Value) -> Result<Value, String> {
        self.call(Method::PUT, path, token, Some(&body), StatusCode::OK)
            .await
    }

    async fn patch(&self, path: &str, token: &str, body: Value) -> Result<Value, String> {
        self.call(Method::PATCH, path, token, Some(&body), StatusCode::OK)
            .await
    }

    async fn delete(&self, path: &str, token: &str) -> Result<Value, String> {
        self.call(Method::DELETE, path, token, None, StatusCode::OK)
            .await
    }
}

fn text(value: &Value, field: &str) -> Result<String, String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no {field:?} in {value}"))
}

fn uuid(value: &Value, field: &str) -> Result<Uuid, String> {
    text(value, field)?
        .parse()
        .map_err(|e| format!("{field}: {e}"))
}

// ---------------------------------------------------------------------------------
// Start and stop
// ---------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Occupied(message)) => {
            eprintln!("demo: {message}");
            ExitCode::from(3)
        }
        Err(Failure::Other(message)) => {
            eprintln!("demo: {message}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    /// The data folder already holds a programme: nothing was written.
    Occupied(String),
    Other(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::Other(message)
    }
}

fn data_dir() -> PathBuf {
    std::env::var_os("DATA_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("./data"))
}

fn eml_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .count()
    })
}

async fn run() -> Result<(), Failure> {
    let started = Instant::now();
    let data_dir = data_dir();
    let database = data_dir.join("entourage-sport.sqlite");
    let outbox_dir = data_dir.join("outbox");
    if eml_files(&outbox_dir) > 0 {
        return Err(Failure::Occupied(format!(
            "{} already holds emails: seed a fresh folder (scripts/demo.sh --fresh moves it aside)",
            outbox_dir.display()
        )));
    }
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    // Unset: the templates built into the binary.
    let templates_dir = std::env::var_os("TEMPLATES_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let settings = Settings {
        // Always SQLite under DATA_DIR, whatever DATABASE_URL says: the demo seeds a
        // local folder, never a shared server.
        database_url: format!("sqlite://{}", database.display()),
        bind: "127.0.0.1:0".into(),
        // Links in the emails point where `cargo run -- serve` listens afterwards.
        public_url: Some(
            std::env::var("PUBLIC_URL")
                .ok()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| "http://localhost:8080".into()),
        ),
        // Always files under DATA_DIR/outbox, even with SMTP_URL set: the demo's
        // addresses are invented.
        smtp_url: None,
        // A whole season's invitations are written at once here; a social worker with
        // several participants without email would otherwise wait an hour for some.
        mail_hourly_limit: 200,
        templates_dir,
        data_dir: data_dir.clone(),
        ..Settings::default()
    };
    let mut config = Config::from_settings(&settings).map_err(|e| e.to_string())?;
    // Deliver and look for due reminders while the demo runs, not a minute later.
    config.jobs.mail_poll = Duration::from_millis(200);
    config.jobs.reminder_scan = Duration::from_secs(1);
    let public_url = config.public_url.clone();
    let service = Service::build(config)
        .await
        .map_err(|e| format!("service: {e}"))?;
    let store = service.state.store.clone();
    let accounts = store.count_users().await.map_err(|e| e.to_string())?;
    if accounts > 0 {
        store.close().await;
        return Err(Failure::Occupied(format!(
            "{} already holds a programme ({accounts} accounts): seed a fresh folder \
             (scripts/demo.sh --fresh moves it aside, or set DATA_DIR)",
            database.display()
        )));
    }
    let (_, admin) = create_user(
        &store,
        &service.state.mailer.signer,
        Actor::System,
        NewUser {
            role: Role::Admin,
            name: "Ada Staff".into(),
            email: "ada.staff@entourage-sport.example.org".into(),
            club_id: None,
            structure_id: None,
        },
    )
    .await
    .map_err(|e| format!("first admin: {e:?}"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (address, serving) = service
        .bind(async move {
            let _ = stopped.await;
        })
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let server = tokio::spawn(serving);
    let api = Api {
        client: reqwest::Client::builder()
            // Only ever the in-process service: never a proxy from the environment.
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?,
        base: format!("http://{address}"),
    };
    println!(
        "Entourage Sport demo: service in-process on {} (SQLite {}), emails as files in {}",
        api.base,
        database.display(),
        outbox_dir.display()
    );

    let outcome = demo(&api, &store, &admin, &data_dir, &public_url).await;

    let _ = stop.send(());
    match tokio::time::timeout(Duration::from_secs(30), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => eprintln!("demo: the service stopped with an error: {e}"),
        Ok(Err(e)) => eprintln!("demo: the service task failed: {e}"),
        Err(_) => eprintln!("demo: the service did not stop within 30 s"),
    }
    outcome?;
    println!(
        "\nDone in {:.1} s: {} emails in {}",
        started.elapsed().as_secs_f64(),
        eml_files(&outbox_dir),
        outbox_dir.display()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------
// The demo
// ---------------------------------------------------------------------------------

struct Seeded {
    club_ids: Vec<Uuid>,
    managers: Vec<String>,
    structure_ids: Vec<Uuid>,
    /// Token and user id of each social worker.
    workers: Vec<(String, Uuid)>,
    session_ids: Vec<Uuid>,
    /// Participant id and door code, per person of [`SEASON`] then [`NEWCOMERS`].
    people: Vec<(Uuid, String)>,
}

/// One dated occurrence of a session, as the API lists it.
#[derive(Clone)]
struct Occ {
    session: usize,
    key: String,
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    week: i64,
}

/// What the demo itself recorded, to check the service's figures against.
#[derive(Default)]
struct Recorded {
    sheets: usize,
    by_admin: usize,
    by_managers: usize,
    present: usize,
    absent: usize,
    excused: usize,
    walk_ins: i64,
    present_people: HashSet<usize>,
    mismatches: Vec<String>,
}

async fn demo(
    api: &Api,
    store: &Store,
    admin: &str,
    data_dir: &Path,
    public_url: &str,
) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let paris: chrono_tz::Tz = TIMEZONE.parse().map_err(|_| "time zone")?;
    let now = Utc::now();
    let today = now.with_timezone(&paris).date_naive();
    let this_monday = today - chrono::Duration::days(today.weekday().num_days_from_monday().into());
    let season_start = this_monday - chrono::Duration::weeks(SEASON_WEEKS);

    // 1. Programme staff sign clubs and structures and create the accounts.
    let seeded = sign_up(api, admin, season_start).await?;
    println!(
        "\n1. Programme staff signed {} clubs in {} cities and {} partner structures; \
         {} club managers and {} social workers have their own token.",
        CLUBS.len(),
        CLUBS.iter().map(|c| c.city).collect::<HashSet<_>>().len(),
        STRUCTURES.len(),
        CLUBS.len(),
        WORKERS.len()
    );
    println!(
        "2. Club managers published {} weekly sessions; the season started the week of {}.",
        SESSIONS.len(),
        season_start.format("%A %-d %B %Y")
    );

    // 2. The season's participants, registered by their social workers.
    let mut seeded = seeded;
    for person in SEASON {
        let registered = register(api, &seeded, person).await?;
        seeded.people.push(registered);
    }
    let no_email = SEASON.iter().filter(|p| p.mail == NoMail).count();
    let in_english = SEASON.iter().filter(|p| p.language == "en").count();
    println!(
        "3. Social workers registered {} participants for the season (situations: {});\n   \
         {no_email} without \
         email (their social worker gets the copies), {in_english} reading English.",
        SEASON.len(),
        situations_covered(SEASON)
    );

    // 3. Every occurrence of the season (and the next weeks).
    let horizon = today + chrono::Duration::days(21);
    let mut occurrences: Vec<Occ> = Vec::new();
    for (s, session_id) in seeded.session_ids.iter().enumerate() {
        let list = api
            .get(
                &format!(
                    "/api/v1/sessions/{session_id}/occurrences?from={season_start}&to={horizon}"
                ),
                admin,
            )
            .await?;
        for item in list["items"].as_array().into_iter().flatten() {
            if item["status"] == "cancelled" {
                continue;
            }
            let start = parse_time(item, "start")?;
            let end = parse_time(item, "end")?;
            let week = (start.with_timezone(&paris).date_naive() - season_start).num_days() / 7;
            occurrences.push(Occ {
                session: s,
                key: text(item, "key")?,
                start,
                end,
                week,
            });
        }
    }
    occurrences.sort_by_key(|o| (o.start, o.session));

    // 4. The season's enrollments, as of their past dates.
    let enrollments = seed_history(store, &seeded, &occurrences).await?;
    println!(
        "4. {} enrollments made over the season (each one an invitation with a calendar \
         object).",
        enrollments.len()
    );

    // 5. Attendance for every past occurrence, in the order the clubs would record it.
    let past: Vec<&Occ> = occurrences
        .iter()
        .filter(|o| o.end.with_timezone(&Utc) <= now)
        .collect();
    let recorded = record_season(api, store, admin, &seeded, &enrollments, &past, &mut rng).await?;
    println!(
        "5. Attendance recorded for {} past occurrences ({} by the club managers, {} older ones \
         by programme staff: a manager has 30 days): {} present, {} absent, {} excused, \
         {} walk-ins.",
        recorded.sheets,
        recorded.by_managers,
        recorded.by_admin,
        recorded.present,
        recorded.absent,
        recorded.excused,
        recorded.walk_ins
    );
    let kevin = person_index(SEASON, STREAK_RECENT)?;
    let history = api
        .get(
            &format!("/api/v1/participants/{}/attendance", seeded.people[kevin].0),
            &seeded.workers[SEASON[kevin].worker].0,
        )
        .await?;
    let streak = history["unexcused_absence_streak"].as_i64().unwrap_or(0);
    println!(
        "   {} {}., as his social worker {} sees him: {} present, {} absent, {} excused, \
         {streak} unexcused absences in a row{}.",
        SEASON[kevin].first,
        initial(SEASON[kevin].last),
        WORKERS[SEASON[kevin].worker].0,
        history["present"],
        history["absent"],
        history["excused"],
        if streak >= 2 {
            " (so she got an absence alert by email)"
        } else {
            ""
        },
    );

    // 6. The present: newcomers, a waitlist, a departure, a closed pool, "I can't come".
    let upcoming: Vec<&Occ> = occurrences
        .iter()
        .filter(|o| o.start.with_timezone(&Utc) > now)
        .collect();
    present_day(api, store, &mut seeded, &enrollments, &upcoming, &mut rng).await?;

    // Let the reminder job look once more (reminders due within a day), then the figures.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // 7. The impact table.
    impact(api, admin, season_start, today, &recorded).await?;

    // 8. The emails, once the worker has delivered them.
    drain_outbox(api, admin).await?;
    emails(api, admin, data_dir).await?;

    write_tokens(data_dir, admin, &seeded, public_url, season_start)?;
    Ok(())
}

fn parse_time(item: &Value, field: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(&text(item, field)?).map_err(|e| format!("{field}: {e}"))
}

fn person_index(people: &[Person], first: &str) -> Result<usize, String> {
    people
        .iter()
        .position(|p| p.first == first)
        .ok_or_else(|| format!("nobody called {first}"))
}

fn initial(last: &str) -> String {
    last.chars().next().map(String::from).unwrap_or_default()
}

fn situations_covered(people: &[Person]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for person in people {
        *counts.entry(person.situation).or_default() += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An address from a name: `Inès Boudjema` → `ines.boudjema@example.net`.
fn email_of(person: &Person) -> String {
    let fold = |s: &str| -> String {
        s.chars()
            .filter_map(|c| {
                let c = c.to_lowercase().next().unwrap_or(c);
                Some(match c {
                    'à' | 'â' | 'ä' => 'a',
                    'é' | 'è' | 'ê' | 'ë' => 'e',
                    'î' | 'ï' => 'i',
                    'ô' | 'ö' => 'o',
                    'ù' | 'û' | 'ü' => 'u',
                    'ç' => 'c',
                    ' ' | '\'' => return None,
                    c => c,
                })
            })
            .collect()
    };
    format!("{}.{}@example.net", fold(person.first), fold(person.last))
}

async fn sign_up(api: &Api, admin: &str, season_start: NaiveDate) -> Result<Seeded, String> {
    let mut seeded = Seeded {
        club_ids: Vec::new(),
        managers: Vec::new(),
        structure_ids: Vec::new(),
        workers: Vec::new(),
        session_ids: Vec::new(),
        people: Vec::new(),
    };
    let since = season_start - chrono::Duration::weeks(4);
    for club in CLUBS {
        let answer = api
            .post(
                "/api/v1/clubs",
                admin,
                json!({
                    "name": club.name,
                    "sports": club.sports,
                    "address": club.address,
                    "postal_code": club.postal_code,
                    "city": club.city,
                    "latitude": club.latitude,
                    "longitude": club.longitude,
                    "contact_email": club.manager.1,
                    "contact_phone": club.phone,
                    "partnership": {"status": "active", "since": since.to_string()}
                }),
            )
            .await?;
        let club_id = uuid(&answer, "id")?;
        let manager = api
            .post(
                "/api/v1/users",
                admin,
                json!({
                    "role": "club_manager",
                    "name": club.manager.0,
                    "email": club.manager.1,
                    "club_id": club_id,
                }),
            )
            .await?;
        seeded.club_ids.push(club_id);
        seeded.managers.push(text(&manager, "token")?);
    }
    for (name, kind, city, email) in STRUCTURES {
        let answer = api
            .post(
                "/api/v1/structures",
                admin,
                json!({"name": name, "kind": kind, "city": city, "contact_email": email}),
            )
            .await?;
        seeded.structure_ids.push(uuid(&answer, "id")?);
    }
    for (name, email, structure) in WORKERS {
        let answer = api
            .post(
                "/api/v1/users",
                admin,
                json!({
                    "role": "social_worker",
                    "name": name,
                    "email": email,
                    "structure_id": seeded.structure_ids[*structure],
                }),
            )
            .await?;
        seeded
            .workers
            .push((text(&answer, "token")?, uuid(&answer["user"], "id")?));
    }
    // Each manager publishes their club's sessions, starting with the season.
    for spec in SESSIONS {
        let date = season_start + chrono::Duration::days(spec.weekday.into());
        let answer = api
            .post(
                &format!("/api/v1/clubs/{}/sessions", seeded.club_ids[spec.club]),
                &seeded.managers[spec.club],
                json!({
                    "title": spec.title,
                    "sport": spec.sport,
                    "description": "Séance ouverte à tous les niveaux, dans une ambiance conviviale.",
                    "start": format!("{date}T{}:00", spec.time),
                    "timezone": TIMEZONE,
                    "duration_minutes": spec.minutes,
                    "rrule": format!("FREQ=WEEKLY;BYDAY={}", WEEKDAYS[spec.weekday as usize]),
                    "capacity": spec.capacity,
                    "status": "published",
                    "what_to_bring": spec.what_to_bring,
                    "coach_name": spec.coach,
                }),
            )
            .await?;
        seeded.session_ids.push(uuid(&answer, "id")?);
    }
    Ok(seeded)
}

/// Registers a person through their social worker's account (consent given).
async fn register(api: &Api, seeded: &Seeded, person: &Person) -> Result<(Uuid, String), String> {
    let email = (person.mail != NoMail).then(|| email_of(person));
    let answer = api
        .post(
            "/api/v1/participants",
            &seeded.workers[person.worker].0,
            json!({
                "first_name": person.first,
                "last_name": person.last,
                "email": email,
                "language": person.language,
                "situation": person.situation,
                "notify_referrer": person.mail == OwnAndReferrer,
                "consent": true,
            }),
        )
        .await?;
    Ok((uuid(&answer, "id")?, text(&answer, "code")?))
}

/// One season enrollment: whose, in which session, from which week.
#[derive(Clone)]
struct Held {
    person: usize,
    session: usize,
    enrollment_id: Uuid,
    from_week: i64,
}

/// Enrolls the season's participants as of the week they started.
///
/// The API only enrols for upcoming occurrences (`POST /api/v1/enrollments` starts a
/// series at the next open occurrence), so a past season is written through the store,
/// the same call the API makes, with `now` two days before the first occurrence: as
/// the social worker would have done then. Each one still writes its invitation to the
/// outbox, which the worker delivers now.
async fn seed_history(
    store: &Store,
    seeded: &Seeded,
    occurrences: &[Occ],
) -> Result<Vec<Held>, String> {
    let mut held = Vec::new();
    for (i, person) in SEASON.iter().enumerate() {
        let (participant_id, _) = seeded.people[i];
        for &session in person.sessions {
            let first = occurrences
                .iter()
                .find(|o| o.session == session && o.week >= person.from_week)
                .ok_or_else(|| {
                    format!("no occurrence of session {session} for {}", person.first)
                })?;
            let key: OccurrenceKey = first
                .key
                .parse()
                .map_err(|e: entourage_sport::domain::FieldError| e.message)?;
            let when = key.original_start() - chrono::Duration::days(2);
            let new = NewEnrollment {
                id: Uuid::new_v4(),
                participant_id,
                session_id: seeded.session_ids[session],
                structure_id: seeded.structure_ids[WORKERS[person.worker].2],
                scope: Scope::Series,
                from_key: key,
                created_by: seeded.workers[person.worker].1,
                now: when,
            };
            let placed = import_enrollment(store, &new)
                .await
                .map_err(|e| format!("enrolling {}: {e}", person.first))?;
            match placed.enrollment.status {
                EnrollmentStatus::Confirmed => {}
                other => {
                    return Err(format!(
                        "{} in {}: {} instead of confirmed",
                        person.first,
                        SESSIONS[session].title,
                        other.as_str()
                    ))
                }
            }
            held.push(Held {
                person: i,
                session,
                enrollment_id: new.id,
                from_week: person.from_week,
            });
        }
    }
    Ok(held)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Status {
    Present,
    Absent,
    Excused,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Absent => "absent",
            Self::Excused => "excused",
        }
    }
}

/// How each listed person is named in the body, and whether they are listed at all.
enum Line {
    /// Named by id (the club's list).
    ById,
    /// Named by the door code read at check-in.
    ByCode,
    /// Not listed: the service records `absent`, or `excused` after "I can't come".
    Omitted,
}

async fn record_season(
    api: &Api,
    store: &Store,
    admin: &str,
    seeded: &Seeded,
    enrollments: &[Held],
    past: &[&Occ],
    rng: &mut StdRng,
) -> Result<Recorded, String> {
    let now = Utc::now();
    let kevin = person_index(SEASON, STREAK_RECENT)?;
    let hamid = person_index(SEASON, STREAK_EARLIER.0)?;
    let kevin_last: Vec<&str> = past
        .iter()
        .filter(|o| SEASON[kevin].sessions.contains(&o.session))
        .rev()
        .take(2)
        .map(|o| o.key.as_str())
        .collect();
    let mut last_status: HashMap<usize, Status> = HashMap::new();
    let mut recorded = Recorded::default();
    for occ in past {
        let session_id = seeded.session_ids[occ.session];
        let expected: Vec<&Held> = enrollments
            .iter()
            .filter(|h| h.session == occ.session && h.from_week <= occ.week)
            .collect();
        let mut lines = Vec::new();
        let mut wanted: HashMap<Uuid, Status> = HashMap::new();
        for held in expected {
            let person = held.person;
            let forced_absent = (person == kevin && kevin_last.contains(&occ.key.as_str()))
                || (person == hamid
                    && SEASON[hamid].sessions.contains(&occ.session)
                    && STREAK_EARLIER.1.contains(&occ.week));
            let roll = rng.random_range(0..100);
            let mut status = if forced_absent {
                Status::Absent
            } else if roll < 82 {
                Status::Present
            } else if roll < 91 {
                Status::Excused
            } else {
                Status::Absent
            };
            // Random absences never come twice in a row: only the streaks above do.
            if status == Status::Absent
                && !forced_absent
                && last_status.get(&person) == Some(&Status::Absent)
            {
                status = Status::Present;
            }
            let line = match status {
                Status::Excused if rng.random_bool(0.5) => {
                    // They said "I can't come" from the reminder, the day before.
                    let key: OccurrenceKey = occ
                        .key
                        .parse()
                        .map_err(|e: entourage_sport::domain::FieldError| e.message)?;
                    answer_rsvp(
                        store,
                        held.enrollment_id,
                        key,
                        Answer::NotComing,
                        occ.start.with_timezone(&Utc) - chrono::Duration::days(1),
                    )
                    .await
                    .map_err(|e| format!("RSVP: {e}"))?;
                    Line::Omitted
                }
                Status::Absent if !forced_absent => Line::Omitted,
                _ if rng.random_bool(0.3) => Line::ByCode,
                _ => Line::ById,
            };
            let (participant_id, code) = &seeded.people[person];
            match line {
                Line::ById => {
                    lines.push(json!({"participant_id": participant_id, "status": status.as_str()}))
                }
                Line::ByCode => lines.push(json!({"code": code, "status": status.as_str()})),
                Line::Omitted => {}
            }
            wanted.insert(*participant_id, status);
            last_status.insert(person, status);
            match status {
                Status::Present => {
                    recorded.present += 1;
                    recorded.present_people.insert(person);
                }
                Status::Absent => recorded.absent += 1,
                Status::Excused => recorded.excused += 1,
            }
        }
        let mut walk_ins = Vec::new();
        if rng.random_range(0..100) < 30 {
            let count = if rng.random_range(0..100) < 80 { 1 } else { 2 };
            let situation = WALK_IN_SITUATIONS[rng.random_range(0..WALK_IN_SITUATIONS.len())];
            walk_ins.push(match situation {
                Some(situation) => json!({"count": count, "situation": situation}),
                None => json!({"count": count}),
            });
            recorded.walk_ins += count;
        }
        let recent = now - occ.start.with_timezone(&Utc) < chrono::Duration::days(MANAGER_DAYS);
        let token = if recent {
            recorded.by_managers += 1;
            &seeded.managers[SESSIONS[occ.session].club]
        } else {
            recorded.by_admin += 1;
            admin
        };
        let roster = api
            .put(
                &format!(
                    "/api/v1/sessions/{session_id}/occurrences/{}/attendance",
                    occ.key
                ),
                token,
                json!({"participants": lines, "walk_ins": walk_ins}),
            )
            .await?;
        recorded.sheets += 1;
        // The answer is the roster as recorded: check it says what was meant.
        for line in roster["participants"].as_array().into_iter().flatten() {
            let Some(id) = line["participant_id"]
                .as_str()
                .and_then(|s| s.parse::<Uuid>().ok())
            else {
                continue;
            };
            if let Some(want) = wanted.remove(&id) {
                if line["attendance"] != want.as_str() {
                    recorded.mismatches.push(format!(
                        "{} {} {}: meant {}, roster says {}",
                        SESSIONS[occ.session].title,
                        occ.key,
                        line["first_name"],
                        want.as_str(),
                        line["attendance"]
                    ));
                }
            }
        }
        for id in wanted.keys() {
            recorded.mismatches.push(format!(
                "{} {}: participant {id} missing from the recorded roster",
                SESSIONS[occ.session].title, occ.key
            ));
        }
    }
    if !recorded.mismatches.is_empty() {
        println!(
            "   WARNING: {} recorded lines differ from what was sent, e.g.:",
            recorded.mismatches.len()
        );
        for mismatch in recorded.mismatches.iter().take(5) {
            println!("     {mismatch}");
        }
    }
    Ok(recorded)
}

async fn present_day(
    api: &Api,
    store: &Store,
    seeded: &mut Seeded,
    enrollments: &[Held],
    upcoming: &[&Occ],
    rng: &mut StdRng,
) -> Result<(), String> {
    // Newcomers, enrolled by their social workers through the API.
    let mut newcomer_enrollments = Vec::new();
    for person in NEWCOMERS {
        let (participant_id, code) = register(api, seeded, person).await?;
        seeded.people.push((participant_id, code));
        let session = person.sessions[0];
        let enrollment = api
            .post(
                "/api/v1/enrollments",
                &seeded.workers[person.worker].0,
                json!({
                    "participant_id": participant_id,
                    "session_id": seeded.session_ids[session],
                }),
            )
            .await?;
        newcomer_enrollments.push((person, session, enrollment));
    }
    let described: Vec<String> = newcomer_enrollments
        .iter()
        .map(|(person, session, e)| {
            let position = e["waitlist_position"]
                .as_i64()
                .map(|n| format!(" #{n}"))
                .unwrap_or_default();
            format!(
                "{} in {} ({}{position})",
                person.first,
                SESSIONS[*session].title,
                e["status"].as_str().unwrap_or("?")
            )
        })
        .collect();
    println!(
        "6. Today: social workers enrolled newcomers through the API: {}.",
        described.join(", ")
    );

    // Someone leaves boxing: their place goes to the first on the waitlist.
    let leaver = person_index(SEASON, LEAVER)?;
    let boxing = NEWCOMERS[0].sessions[0];
    if let Some(held) = enrollments
        .iter()
        .find(|h| h.person == leaver && h.session == boxing)
    {
        api.delete(
            &format!("/api/v1/enrollments/{}", held.enrollment_id),
            &seeded.workers[SEASON[leaver].worker].0,
        )
        .await?;
        let (_, _, waiting) = &newcomer_enrollments[0];
        let now = api
            .get(
                &format!("/api/v1/enrollments/{}", text(waiting, "id")?),
                &seeded.workers[NEWCOMERS[0].worker].0,
            )
            .await?;
        println!(
            "   {} leaves {} (evening job): {} is now {} (promotion, then invitation).",
            SEASON[leaver].first,
            SESSIONS[boxing].title,
            NEWCOMERS[0].first,
            now["status"].as_str().unwrap_or("?")
        );
    }

    // The pool in Toulouse closes for a day: its second upcoming occurrence is cancelled.
    let pool = 6;
    if let Some(closed) = upcoming.iter().filter(|o| o.session == pool).nth(1) {
        api.patch(
            &format!(
                "/api/v1/sessions/{}/occurrences/{}",
                seeded.session_ids[pool], closed.key
            ),
            &seeded.managers[SESSIONS[pool].club],
            json!({"status": "cancelled"}),
        )
        .await?;
        println!(
            "   {} cancels {} on {} (pool maintenance): an update goes to each participant.",
            CLUBS[SESSIONS[pool].club].name,
            SESSIONS[pool].title,
            closed.start.format("%A %-d %B")
        );
    }

    // "I can't come" for the next occurrence, from the reminder's link.
    let mut answers = Vec::new();
    for (s, spec) in SESSIONS.iter().enumerate() {
        let Some(next) = upcoming.iter().find(|o| o.session == s) else {
            continue;
        };
        let holders: Vec<&Held> = enrollments
            .iter()
            .filter(|h| h.session == s && !(h.person == leaver && h.session == boxing))
            .collect();
        if holders.is_empty() || rng.random_range(0..100) >= 70 {
            continue;
        }
        let held = holders[rng.random_range(0..holders.len())];
        let key: OccurrenceKey = next
            .key
            .parse()
            .map_err(|e: entourage_sport::domain::FieldError| e.message)?;
        answer_rsvp(
            store,
            held.enrollment_id,
            key,
            Answer::NotComing,
            Utc::now(),
        )
        .await
        .map_err(|e| format!("RSVP: {e}"))?;
        answers.push(format!("{} ({})", SEASON[held.person].first, spec.title));
    }
    println!(
        "   \"I can't come\" for the next occurrence: {} (their place is free for that day).",
        answers.join(", ")
    );

    // The club's roster for the next football in Bondy: first name, initial, door code.
    if let Some(next) = upcoming.iter().find(|o| o.session == 0) {
        let roster = api
            .get(
                &format!(
                    "/api/v1/sessions/{}/occurrences/{}/roster",
                    seeded.session_ids[0], next.key
                ),
                &seeded.managers[0],
            )
            .await?;
        let lines: Vec<String> = roster["participants"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["status"] == "confirmed")
            .map(|l| {
                let answer = match l["rsvp"].as_str() {
                    Some("not_coming") => " — can't come",
                    Some("coming") => " — coming",
                    _ => "",
                };
                format!(
                    "{} {} [{}]{answer}",
                    l["first_name"].as_str().unwrap_or("?"),
                    l["last_name_initial"].as_str().unwrap_or(""),
                    l["code"].as_str().unwrap_or("?")
                )
            })
            .collect();
        println!(
            "   {}'s roster for {} on {}, as the club sees it: {}.",
            CLUBS[0].name,
            SESSIONS[0].title,
            next.start.format("%A %-d %B %H:%M"),
            lines.join(", ")
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// The impact table
// ---------------------------------------------------------------------------------

async fn impact(
    api: &Api,
    admin: &str,
    from: NaiveDate,
    to: NaiveDate,
    recorded: &Recorded,
) -> Result<(), String> {
    println!(
        "\n7. Impact of the season, {} to {} (GET /api/v1/stats/encounters, as programme staff)",
        from.format("%-d %B %Y"),
        to.format("%-d %B %Y")
    );
    println!(
        "   encounters: participants present + walk-ins; people: distinct participants present;\n   \
         held: occurrences whose attendance was recorded; attendance: present / confirmed places;\n   \
         first time: people whose first encounter in the programme falls in the period."
    );
    let mut total = Value::Null;
    for (group_by, heading) in [
        ("club", "club"),
        ("sport", "sport"),
        ("month", "month"),
        ("situation", "situation"),
        ("structure", "structure"),
    ] {
        let answer = api
            .get(
                &format!("/api/v1/stats/encounters?from={from}&to={to}&group_by={group_by}"),
                admin,
            )
            .await?;
        let groups = answer["groups"].as_array().cloned().unwrap_or_default();
        println!();
        print_table(heading, &groups, &answer["total"]);
        total = answer["total"].clone();
    }
    let count = |field: &str| total[field].as_i64().unwrap_or(-1);
    println!(
        "\n   Every \"present\" is an encounter: {} this season, {} of them walk-ins; {} \
         people met a club for the first time.",
        count("encounters"),
        count("walk_ins"),
        count("first_encounters")
    );
    // The service's figures against what the demo itself recorded.
    let checks = [
        (
            "participant encounters",
            count("participant_encounters"),
            recorded.present as i64,
        ),
        ("walk-ins", count("walk_ins"), recorded.walk_ins),
        (
            "occurrences held",
            count("occurrences_held"),
            recorded.sheets as i64,
        ),
        (
            "unique participants",
            count("unique_participants"),
            recorded.present_people.len() as i64,
        ),
        (
            "first encounters",
            count("first_encounters"),
            recorded.present_people.len() as i64,
        ),
    ];
    let wrong: Vec<String> = checks
        .iter()
        .filter(|(_, got, want)| got != want)
        .map(|(what, got, want)| format!("{what}: service {got}, recorded {want}"))
        .collect();
    if wrong.is_empty() {
        println!("   (Checked against what the demo recorded: the totals match.)");
    } else {
        println!(
            "   WARNING: the totals differ from what the demo recorded: {}",
            wrong.join("; ")
        );
    }
    Ok(())
}

fn print_table(heading: &str, groups: &[Value], total: &Value) {
    const WIDTH: usize = 32;
    let label = |g: &Value| -> String {
        let label = g["label"]
            .as_str()
            .or_else(|| g["key"].as_str())
            .unwrap_or("?");
        if label.chars().count() > WIDTH {
            let cut: String = label.chars().take(WIDTH - 1).collect();
            format!("{cut}…")
        } else {
            label.to_owned()
        }
    };
    let width = groups
        .iter()
        .map(|g| label(g).chars().count())
        .chain([heading.len(), 5])
        .max()
        .unwrap_or(WIDTH);
    let number = |g: &Value, field: &str| -> String {
        g[field]
            .as_i64()
            .map_or_else(|| "—".to_owned(), |n| n.to_string())
    };
    let rate = |g: &Value| -> String {
        g["attendance_rate"]
            .as_f64()
            .map_or_else(|| "—".to_owned(), |r| format!("{:.0} %", r * 100.0))
    };
    let header = format!(
        "   {:<width$}  {:>10}  {:>8}  {:>6}  {:>4}  {:>10}  {:>10}",
        heading, "encounters", "walk-ins", "people", "held", "attendance", "first time"
    );
    let rule = format!("   {}", "-".repeat(header.chars().count() - 3));
    println!("{header}");
    println!("{rule}");
    for g in groups.iter().chain([total]) {
        if std::ptr::eq(g, total) {
            println!("{rule}");
        }
        println!(
            "   {:<width$}  {:>10}  {:>8}  {:>6}  {:>4}  {:>10}  {:>10}",
            label(g),
            number(g, "encounters"),
            number(g, "walk_ins"),
            number(g, "unique_participants"),
            number(g, "occurrences_held"),
            rate(g),
            number(g, "first_encounters"),
        );
    }
}

// ---------------------------------------------------------------------------------
// Emails
// ---------------------------------------------------------------------------------

/// Every message in the outbox (newest first), page by page.
async fn all_messages(api: &Api, admin: &str, status: Option<&str>) -> Result<Vec<Value>, String> {
    let mut messages = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..100 {
        let mut path = "/api/v1/admin/outbox?limit=500".to_owned();
        if let Some(status) = status {
            path.push_str(&format!("&status={status}"));
        }
        if let Some(cursor) = &before {
            path.push_str(&format!("&before={cursor}"));
        }
        let page = api.get(&path, admin).await?;
        messages.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => return Ok(messages),
        }
    }
    Ok(messages)
}

/// Waits until the worker has handled every message due now (bounded).
async fn drain_outbox(api: &Api, admin: &str) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let now = Utc::now();
        let sending = all_messages(api, admin, Some("sending")).await?.len();
        let pending = all_messages(api, admin, Some("pending")).await?;
        let due = pending
            .iter()
            .filter(|m| {
                m["available_at"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .is_none_or(|at| at.with_timezone(&Utc) <= now + chrono::Duration::seconds(5))
            })
            .count();
        if sending == 0 && due == 0 {
            if !pending.is_empty() {
                println!(
                    "\n   {} messages wait for their time (later reminders, retries).",
                    pending.len()
                );
            }
            return Ok(());
        }
        if started.elapsed() > DRAIN_LIMIT {
            println!(
                "\n   WARNING: after {} s, {due} messages are still due and {sending} being sent; \
                 the service will deliver them when it runs (`cargo run -- serve`).",
                DRAIN_LIMIT.as_secs()
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn emails(api: &Api, admin: &str, data_dir: &Path) -> Result<(), String> {
    let messages = all_messages(api, admin, None).await?;
    let mut by_kind: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut to_referrer = 0;
    for message in &messages {
        let kind = message["kind"].as_str().unwrap_or("?").to_owned();
        let status = message["status"].as_str().unwrap_or("?").to_owned();
        *by_kind.entry(kind).or_default().entry(status).or_default() += 1;
        if message["audience"] == "referrer" {
            to_referrer += 1;
        }
    }
    println!(
        "\n8. Emails written by the service (GET /api/v1/admin/outbox): {} messages, {to_referrer} \
         of them to a social worker",
        messages.len()
    );
    let statuses = ["sent", "pending", "skipped", "dead"];
    println!(
        "   {:<16}  {:>5}  {:>5}  {:>7}  {:>7}  {:>4}",
        "kind", "total", "sent", "pending", "skipped", "dead"
    );
    println!(
        "   {}",
        "-".repeat(16 + 2 + 5 + 2 + 5 + 2 + 7 + 2 + 7 + 2 + 4)
    );
    for (kind, counts) in &by_kind {
        let total: usize = counts.values().sum();
        let n = |s: &str| counts.get(s).copied().unwrap_or(0);
        println!(
            "   {:<16}  {:>5}  {:>5}  {:>7}  {:>7}  {:>4}",
            kind,
            total,
            n(statuses[0]),
            n(statuses[1]) + n("sending"),
            n(statuses[2]),
            n(statuses[3])
        );
    }
    let skipped = messages.iter().filter(|m| m["status"] == "skipped").count();
    if skipped > 0 {
        println!(
            "   (skipped: no longer needed when their turn came, e.g. a reminder after \
             \"I can't come\")"
        );
    }
    let outbox = data_dir.join("outbox");
    println!(
        "   {} .eml files in {} (open one in a mail client; grep -l \"absence\" finds the alerts).",
        eml_files(&outbox),
        outbox.display()
    );
    Ok(())
}

/// The accounts' tokens, to explore the seeded programme with `cargo run -- serve`.
fn write_tokens(
    data_dir: &Path,
    admin: &str,
    seeded: &Seeded,
    public_url: &str,
    season_start: NaiveDate,
) -> Result<(), String> {
    let path = data_dir.join("demo-tokens.env");
    let kevin_worker = SEASON
        .iter()
        .find(|p| p.first == STREAK_RECENT)
        .map_or(0, |p| p.worker);
    let contents = format!(
        "# Tokens of the demo's accounts (examples/demo.rs). Secrets: a local demo only.\n\
         # source this file, then: curl -H \"Authorization: Bearer $ADMIN_TOKEN\" {public_url}/api/v1/me\n\
         API={public_url}/api/v1\n\
         # First day of the season (for ?from= on GET /api/v1/stats/encounters)\n\
         SEASON_FROM={season_start}\n\
         # Ada Staff, programme staff (admin)\n\
         ADMIN_TOKEN={admin}\n\
         # {}, manager of {}\n\
         MANAGER_TOKEN={}\n\
         # {}, social worker at {}\n\
         WORKER_TOKEN={}\n",
        CLUBS[0].manager.0,
        CLUBS[0].name,
        seeded.managers[0],
        WORKERS[kevin_worker].0,
        STRUCTURES[WORKERS[kevin_worker].2].0,
        seeded.workers[kevin_worker].0,
    );
    std::fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}
