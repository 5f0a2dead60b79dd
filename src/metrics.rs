//! The service's metrics, in one registry, exposed at `/metrics` in the Prometheus text
//! format (docs/metrics.md lists them and what to alert on).
//!
//! Labels take their values from small fixed sets (operation ids, route patterns,
//! enum names, status codes), never from a request's path or data: a label per person
//! or per id would grow without bound and put personal data into the monitoring.

use std::borrow::Cow;
use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::domain::messages::{Delivery, MessageKind};
use crate::domain::places::EnrollmentStatus;
use crate::store::{Store, StoreResult};

/// `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Request durations, in seconds: from a cached page to a slow export.
const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: Cow<'static, str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EmailLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// What became of one delivery attempt, as `entourage_emails_total` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailOutcome {
    Sent,
    /// Not delivered this time; it will be tried again.
    Failed,
    /// Not delivered, and given up.
    Dead,
}

impl EmailOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }
}

/// What became of an enrolment request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolmentOutcome {
    /// Placed with this status (confirmed or waitlisted).
    Placed(EnrollmentStatus),
    /// A rule or the current state refused it (closed, out of reach, already
    /// enrolled, a participant the caller does not follow...).
    Refused,
}

type DurationFamily = Family<OperationLabel, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// Every metric of the service. One instance per service, shared (an `Arc`) by the
/// HTTP layer, the operations that count and the background jobs.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: DurationFamily,
    outbox_messages: Family<StateLabel, Gauge>,
    outbox_oldest_pending_age: Gauge<f64, AtomicU64>,
    emails: Family<EmailLabels, Counter>,
    reminders_written: Counter,
    enrollments: Family<OutcomeLabel, Counter>,
    pool_connections: Family<StateLabel, Gauge>,
    pool_waiting: Gauge,
    pool_max: Gauge,
    mail_worker_last_run: Gauge<f64, AtomicU64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        // The text encoder adds `_total` to a counter's name.
        registry.register(
            "entourage_http_requests",
            "HTTP requests answered, by operation (API operation id or route pattern) and status code",
            http_requests.clone(),
        );
        let http_duration: DurationFamily = Family::new_with_constructor(duration_histogram);
        registry.register(
            "entourage_http_request_duration_seconds",
            "Time to answer an HTTP request, by operation",
            http_duration.clone(),
        );
        let outbox_messages = Family::<StateLabel, Gauge>::default();
        registry.register(
            "entourage_outbox_messages",
            "Outbox messages by state, read from the database at scrape time",
            outbox_messages.clone(),
        );
        let outbox_oldest_pending_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "entourage_outbox_oldest_pending_age_seconds",
            "How long the oldest pending message has been due (0: none due)",
            outbox_oldest_pending_age.clone(),
        );
        let emails = Family::<EmailLabels, Counter>::default();
        registry.register(
            "entourage_emails",
            "Email delivery attempts by kind and outcome (sent, failed: will be retried, dead)",
            emails.clone(),
        );
        let reminders_written = Counter::default();
        registry.register(
            "entourage_reminders_written",
            "Reminders written into the outbox by the reminders job",
            reminders_written.clone(),
        );
        let enrollments = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "entourage_enrollments",
            "Enrolment requests by outcome (confirmed, waitlisted, refused)",
            enrollments.clone(),
        );
        let pool_connections = Family::<StateLabel, Gauge>::default();
        registry.register(
            "entourage_db_pool_connections",
            "Database pool connections, in use or idle",
            pool_connections.clone(),
        );
        let pool_waiting = Gauge::default();
        registry.register(
            "entourage_db_pool_waiting",
            "Tasks waiting for a database connection",
            pool_waiting.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "entourage_db_pool_max_connections",
            "The most connections the database pool opens",
            pool_max.clone(),
        );
        let mail_worker_last_run = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "entourage_mail_worker_last_run_timestamp_seconds",
            "When this instance's outbox worker last looked at the outbox (Unix time)",
            mail_worker_last_run.clone(),
        );
        // Series that exist before their first event: a rate over a counter that
        // appears late misses its first increase, and zeros make the dashboards whole.
        for outcome in [
            EnrolmentOutcome::Placed(EnrollmentStatus::Confirmed),
            EnrolmentOutcome::Placed(EnrollmentStatus::Waitlisted),
            EnrolmentOutcome::Refused,
        ] {
            let _ = enrollments.get_or_create(&outcome_label(outcome));
        }
        for state in Delivery::ALL {
            let _ = outbox_messages.get_or_create(&StateLabel {
                state: state.as_str(),
            });
        }
        Self {
            registry,
            http_requests,
            http_duration,
            outbox_messages,
            outbox_oldest_pending_age,
            emails,
            reminders_written,
            enrollments,
            pool_connections,
            pool_waiting,
            pool_max,
            mail_worker_last_run,
        }
    }

    /// One answered request. `operation` must come from a fixed set (see
    /// [`crate::api`]'s request layer), never from the raw path.
    pub fn request(&self, operation: Cow<'static, str>, status: u16, seconds: f64) {
        self.http_duration
            .get_or_create(&OperationLabel {
                operation: operation.clone(),
            })
            .observe(seconds);
        self.http_requests
            .get_or_create(&RequestLabels { operation, status })
            .inc();
    }

    pub fn email(&self, kind: MessageKind, outcome: EmailOutcome) {
        self.emails
            .get_or_create(&EmailLabels {
                kind: kind.as_str(),
                outcome: outcome.as_str(),
            })
            .inc();
    }

    pub fn reminders_written(&self, count: u64) {
        self.reminders_written.inc_by(count);
    }

    pub fn enrolment(&self, outcome: EnrolmentOutcome) {
        self.enrollments
            .get_or_create(&outcome_label(outcome))
            .inc();
    }

    /// The outbox worker is alive: called on each of its looks at the outbox.
    pub fn mail_worker_ran(&self, at: DateTime<Utc>) {
        self.mail_worker_last_run
            .set(at.timestamp_millis() as f64 / 1000.0);
    }

    /// When this instance's outbox worker last looked at the outbox; `None`: never.
    pub fn mail_worker_last_run(&self) -> Option<DateTime<Utc>> {
        let seconds = self.mail_worker_last_run.get();
        (seconds > 0.0)
            .then(|| DateTime::from_timestamp_millis((seconds * 1000.0) as i64))
            .flatten()
    }

    /// Reads what lives in the database (the outbox) and the pool, then writes every
    /// metric in the Prometheus text format.
    pub async fn render(&self, store: &Store) -> StoreResult<String> {
        let now = crate::clock::now();
        let outbox = store.outbox_snapshot(now).await?;
        for state in Delivery::ALL {
            let count = outbox
                .counts
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n);
            self.outbox_messages
                .get_or_create(&StateLabel {
                    state: state.as_str(),
                })
                .set(count);
        }
        let age = outbox
            .oldest_due
            .map_or(0, |due| (now - due).num_seconds().max(0));
        self.outbox_oldest_pending_age.set(age as f64);
        let pool = store.pool_state();
        for (state, count) in [("in_use", pool.in_use), ("idle", pool.idle)] {
            self.pool_connections
                .get_or_create(&StateLabel { state })
                .set(count as i64);
        }
        self.pool_waiting.set(pool.waiting as i64);
        self.pool_max.set(pool.max as i64);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        Ok(text)
    }
}

fn outcome_label(outcome: EnrolmentOutcome) -> OutcomeLabel {
    OutcomeLabel {
        outcome: match outcome {
            EnrolmentOutcome::Placed(status) => status.as_str(),
            EnrolmentOutcome::Refused => "refused",
        },
    }
}
