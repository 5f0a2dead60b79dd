//! The outbox worker: claims due messages, composes and sends them a few at a time
//! over the pooled transport, and records each outcome. Transient failures come back
//! with exponential backoff until the last attempt; permanent ones die at once, and the
//! participant's social worker is told. On shutdown, messages not yet started are handed
//! back and those in flight are finished.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::compose::{ComposeError, Composed, Facts};
use super::transport::SMTP_CONNECTIONS;
use super::Mailer;
use crate::config::JobTiming;
use crate::metrics::{EmailOutcome, Metrics};
use crate::store::outbox::{Audience, Claim, MessageKind, Outcome};
use crate::store::Store;

/// Messages claimed at once: a few per connection keeps every connection busy.
const BATCH: i64 = (SMTP_CONNECTIONS as i64) * 32;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::hours(6);

/// Batches in progress at once: while one batch is being sent, the next is claimed and
/// read, so the SMTP connections never wait for the database.
const LANES: usize = 3;

pub async fn run(
    store: Store,
    mailer: Arc<Mailer>,
    metrics: Arc<Metrics>,
    timing: JobTiming,
    shutdown: watch::Receiver<bool>,
) {
    let connections = Arc::new(Semaphore::new(SMTP_CONNECTIONS as usize));
    let ledger = Ledger::default();
    let mut lanes = JoinSet::new();
    for _ in 0..LANES {
        lanes.spawn(lane(
            store.clone(),
            mailer.clone(),
            metrics.clone(),
            timing.clone(),
            connections.clone(),
            ledger.clone(),
            shutdown.clone(),
        ));
    }
    while lanes.join_next().await.is_some() {}
}

async fn lane(
    store: Store,
    mailer: Arc<Mailer>,
    metrics: Arc<Metrics>,
    timing: JobTiming,
    connections: Arc<Semaphore>,
    ledger: Ledger,
    mut shutdown: watch::Receiver<bool>,
) {
    let lease = Duration::from_std(timing.lease).unwrap_or(Duration::minutes(5));
    while !*shutdown.borrow() {
        // The heartbeat /readyz reads: a worker stuck anywhere in its loop stops it.
        metrics.mail_worker_ran(Utc::now());
        let claims = match store
            .claim_messages(crate::clock::now(), BATCH, lease)
            .await
        {
            Ok(claims) => claims,
            Err(error) => {
                tracing::warn!(%error, "outbox: cannot claim messages, will retry");
                Vec::new()
            }
        };
        if claims.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(timing.mail_poll) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let (done, unstarted) = deliver(
            &store,
            &mailer,
            &timing,
            &connections,
            &ledger,
            claims,
            &shutdown,
        )
        .await;
        count(&metrics, &done);
        record(&store, &done).await;
        if let Err(error) = store.release_messages(&unstarted).await {
            tracing::warn!(%error, "outbox: cannot release messages; their lease will");
        }
    }
}

fn count(metrics: &Metrics, done: &[(Claim, Outcome)]) {
    for (claim, outcome) in done {
        let counted = match outcome {
            Outcome::Sent { .. } => EmailOutcome::Sent,
            Outcome::Retry { .. } => EmailOutcome::Failed,
            Outcome::Dead { .. } => EmailOutcome::Dead,
            // Nothing was tried: not needed any more, or waiting for the hourly limit.
            Outcome::Skipped { .. } | Outcome::Deferred { .. } => continue,
        };
        metrics.email(claim.message.kind, counted);
    }
}

/// Records outcomes; a database hiccup is retried, since the messages already went out.
async fn record(store: &Store, done: &[(Claim, Outcome)]) {
    for wait in [0, 100, 500, 2000, 5000] {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        match store.finish_messages(done, crate::clock::now()).await {
            Ok(()) => return,
            Err(error) => tracing::warn!(%error, "outbox: cannot record outcomes, retrying"),
        }
    }
    tracing::error!(
        messages = done.len(),
        "outbox: outcomes not recorded; the messages will be tried again after their lease"
    );
}

/// Messages sent to one address in the last hour, and when the oldest of them went.
type SentLastHour = (i64, Option<DateTime<Utc>>);

/// How many messages each address has had in the last hour, shared by the lanes: the
/// database's count when a batch starts, counted up as soon as a lane decides to send,
/// so that batches sending side by side cannot exceed the limit together.
type Ledger = Arc<Mutex<HashMap<String, SentLastHour>>>;

/// What the tasks of one batch share: the facts read for the whole batch, and the
/// lanes' ledger of messages per address.
struct Batch {
    facts: HashMap<Uuid, Facts>,
    declined: HashSet<(Uuid, String)>,
    sent_last_hour: Ledger,
}

async fn read_batch(
    store: &Store,
    claims: &[Claim],
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Result<Batch, String> {
    let ids: HashSet<Uuid> = claims
        .iter()
        .filter_map(|c| c.message.enrollment_id)
        .collect();
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let facts = Facts::load_many(store, &ids)
        .await
        .map_err(|e| e.to_string())?;
    let reminders: Vec<(Uuid, String)> = claims
        .iter()
        .filter(|c| c.message.kind == MessageKind::Reminder)
        .filter_map(|c| Some((c.message.enrollment_id?, c.message.occurrence_key.clone()?)))
        .collect();
    let declined = store
        .declined_among(&reminders)
        .await
        .map_err(|e| e.to_string())?;
    let mut recipients: Vec<String> = claims
        .iter()
        .filter_map(|c| {
            let f = facts.get(&c.message.enrollment_id?)?;
            if c.message.audience == Audience::Referrer {
                Some(f.referrer.email.to_lowercase())
            } else {
                f.participant.email.as_ref().map(|e| e.to_lowercase())
            }
        })
        .collect();
    recipients.sort();
    recipients.dedup();
    let sent_last_hour = store
        .sent_counts_since(&recipients, now - Duration::hours(1))
        .await
        .map_err(|e| e.to_string())?;
    {
        let mut counts = ledger.lock().unwrap_or_else(|e| e.into_inner());
        let hour_ago = now - Duration::hours(1);
        counts.retain(|_, (_, oldest)| oldest.is_some_and(|t| t > hour_ago));
        for (recipient, (stored, stored_oldest)) in sent_last_hour {
            let (sent, oldest) = counts.entry(recipient).or_insert((0, None));
            // The database holds what every instance recorded; the ledger also what
            // this one's lanes are sending now.
            *sent = (*sent).max(stored);
            *oldest = match (*oldest, stored_oldest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    Ok(Batch {
        facts,
        declined,
        sent_last_hour: ledger.clone(),
    })
}

/// Sends a batch, at most one message per connection at a time. Returns the outcomes,
/// and the claims not started because the service is stopping.
async fn deliver(
    store: &Store,
    mailer: &Arc<Mailer>,
    timing: &JobTiming,
    connections: &Arc<Semaphore>,
    ledger: &Ledger,
    claims: Vec<Claim>,
    shutdown: &watch::Receiver<bool>,
) -> (Vec<(Claim, Outcome)>, Vec<Claim>) {
    let now = crate::clock::now();
    let batch = match read_batch(store, &claims, ledger, now).await {
        Ok(batch) => Arc::new(batch),
        Err(error) => {
            tracing::warn!(%error, "outbox: cannot read what the messages need");
            let done = claims
                .into_iter()
                .map(|claim| {
                    let outcome = failed(timing, &claim, error.clone(), false, now);
                    (claim, outcome)
                })
                .collect();
            return (done, Vec::new());
        }
    };
    // One person's messages go out one after the other, in the order of their causes
    // (a promotion before the invitation it announces); different people's in parallel.
    let mut chains: Vec<Vec<Claim>> = Vec::new();
    let mut chain_of: HashMap<Option<Uuid>, usize> = HashMap::new();
    for claim in claims {
        let key = claim.message.enrollment_id;
        match chain_of.get(&key).filter(|_| key.is_some()) {
            Some(&index) => chains[index].push(claim),
            None => {
                chain_of.insert(key, chains.len());
                chains.push(vec![claim]);
            }
        }
    }
    let mut tasks = JoinSet::new();
    for chain in chains {
        let (store, mailer, permits, shutdown) = (
            store.clone(),
            mailer.clone(),
            connections.clone(),
            shutdown.clone(),
        );
        let (timing, batch) = (timing.clone(), batch.clone());
        tasks.spawn(async move {
            let mut results = Vec::with_capacity(chain.len());
            for claim in chain {
                if *shutdown.borrow() {
                    results.push((claim, None));
                    continue;
                }
                let outcome = attempt(&store, &mailer, &timing, &claim, &batch, &permits).await;
                results.push((claim, outcome));
            }
            results
        });
    }
    let mut done = Vec::new();
    let mut unstarted = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(results) => {
                for (claim, outcome) in results {
                    match outcome {
                        Some(outcome) => done.push((claim, outcome)),
                        None => unstarted.push(claim),
                    }
                }
            }
            Err(error) => tracing::error!(%error, "outbox: a delivery task failed"),
        }
    }
    (done, unstarted)
}

async fn attempt(
    store: &Store,
    mailer: &Mailer,
    timing: &JobTiming,
    claim: &Claim,
    batch: &Batch,
    connections: &Semaphore,
) -> Option<Outcome> {
    let message = &claim.message;
    let now = crate::clock::now();
    let facts = message.enrollment_id.and_then(|id| batch.facts.get(&id));
    let composed = match mailer
        .compose(store, message, facts, &batch.declined, now)
        .await
    {
        Ok(composed) => composed,
        Err(ComposeError::Build(error)) => return Some(Outcome::Dead { error }),
        Err(error) => return Some(failed(timing, claim, error.to_string(), false, now)),
    };
    let (recipient, email) = match composed {
        Composed::Ready { recipient, message } => (recipient, message),
        Composed::Skip(reason) => {
            tracing::info!(id = %message.id, kind = %message.kind, %reason, "email not needed");
            return Some(Outcome::Skipped { reason });
        }
        Composed::NotBefore(until) => return Some(Outcome::Deferred { until }),
    };
    if let Some(until) = over_hourly_limit(mailer, batch, &recipient, now) {
        tracing::info!(id = %message.id, kind = %message.kind, "email delayed: hourly limit");
        return Some(Outcome::Deferred { until });
    }
    // Composing runs beside the sends; only the send itself waits for a connection.
    let sent = {
        let _connection = connections.acquire().await;
        // Past its lease, another worker may claim the message again: starting the
        // send this late could deliver it twice. Hand it back instead.
        if lease_running_out(claim.message.lease_until, timing, crate::clock::now()) {
            uncount(batch, &recipient);
            return None;
        }
        mailer.transport.send(*email).await
    };
    match sent {
        Ok(()) => {
            tracing::info!(id = %message.id, kind = %message.kind, attempt = message.attempts + 1, "email sent");
            Some(Outcome::Sent { recipient })
        }
        Err(error) => {
            uncount(batch, &recipient);
            Some(failed(timing, claim, error.message, error.permanent, now))
        }
    }
}

/// Whether less than a third of a claim's lease is left: too little to start a send.
fn lease_running_out(
    lease_until: Option<DateTime<Utc>>,
    timing: &JobTiming,
    now: DateTime<Utc>,
) -> bool {
    let lease = Duration::from_std(timing.lease).unwrap_or(Duration::minutes(5));
    lease_until.is_some_and(|until| now + lease / 3 >= until)
}

/// When the recipient already had their share this hour: until when to wait. Otherwise
/// counts this message against their share.
fn over_hourly_limit(
    mailer: &Mailer,
    batch: &Batch,
    recipient: &str,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut counts = batch
        .sent_last_hour
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let (sent, oldest) = counts.entry(recipient.to_owned()).or_insert((0, None));
    if *sent >= i64::from(mailer.hourly_limit) {
        let until = oldest.unwrap_or(now) + Duration::hours(1);
        return Some(until.max(now + Duration::minutes(1)));
    }
    *sent += 1;
    oldest.get_or_insert(now);
    None
}

fn uncount(batch: &Batch, recipient: &str) {
    let mut counts = batch
        .sent_last_hour
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((sent, _)) = counts.get_mut(recipient) {
        *sent = (*sent - 1).max(0);
    }
}

fn failed(
    timing: &JobTiming,
    claim: &Claim,
    error: String,
    permanent: bool,
    now: DateTime<Utc>,
) -> Outcome {
    let attempts = claim.message.attempts + 1;
    tracing::warn!(
        id = %claim.message.id,
        kind = %claim.message.kind,
        attempt = attempts,
        permanent,
        "email not delivered"
    );
    if permanent || attempts >= timing.max_attempts {
        Outcome::Dead { error }
    } else {
        Outcome::Retry {
            error,
            next: now + backoff(timing, attempts),
        }
    }
}

/// Base × 2^(attempts − 1), at most [`MAX_BACKOFF`].
pub fn backoff(timing: &JobTiming, attempts: i32) -> Duration {
    let base = Duration::from_std(timing.retry_base).unwrap_or(Duration::seconds(30));
    let factor = 1_i32 << attempts.clamp(1, 20).saturating_sub(1);
    (base * factor).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_starts_only_while_a_third_of_the_lease_is_left() {
        let timing = JobTiming::default();
        let lease = Duration::from_std(timing.lease).unwrap();
        let claimed = Utc::now();
        let until = Some(claimed + lease);
        assert!(!lease_running_out(until, &timing, claimed));
        assert!(!lease_running_out(until, &timing, claimed + lease / 2));
        assert!(lease_running_out(until, &timing, claimed + lease * 2 / 3));
        assert!(lease_running_out(until, &timing, claimed + lease));
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_six_hours() {
        let timing = JobTiming::default();
        assert_eq!(backoff(&timing, 1), Duration::seconds(30));
        assert_eq!(backoff(&timing, 2), Duration::seconds(60));
        assert_eq!(backoff(&timing, 5), Duration::seconds(480));
        assert_eq!(backoff(&timing, 11), MAX_BACKOFF);
        let total: i64 = (1..timing.max_attempts)
            .map(|n| backoff(&timing, n).num_seconds())
            .sum();
        assert!(
            (12 * 3600..20 * 3600).contains(&total),
            "{total} s of retries"
        );
    }
}
