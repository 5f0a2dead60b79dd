//! The outbox worker: claims due messages, composes and sends them a few at a time
//! over the pooled transport, and records each outcome. Transient failures come back
//! with exponential backoff until the last attempt; permanent ones die at once, and the
//! participant's social worker is told. On shutdown, messages not yet started are handed
//! back and those in flight are finished.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::compose::{ComposeError, Composed};
use super::transport::SMTP_CONNECTIONS;
use super::Mailer;
use crate::config::JobTiming;
use crate::store::outbox::{Claim, Outcome};
use crate::store::Store;

/// Messages claimed at once: a few per connection keeps every connection busy.
const BATCH: i64 = (SMTP_CONNECTIONS as i64) * 8;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::hours(6);

pub async fn run(
    store: Store,
    mailer: Arc<Mailer>,
    timing: JobTiming,
    mut shutdown: watch::Receiver<bool>,
) {
    let lease = Duration::from_std(timing.lease).unwrap_or(Duration::minutes(5));
    while !*shutdown.borrow() {
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
        let (done, unstarted) = deliver(&store, &mailer, &timing, claims, &shutdown).await;
        record(&store, &done).await;
        if let Err(error) = store.release_messages(&unstarted).await {
            tracing::warn!(%error, "outbox: cannot release messages; their lease will");
        }
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

/// Sends a batch, at most one message per connection at a time. Returns the outcomes,
/// and the claims not started because the service is stopping.
async fn deliver(
    store: &Store,
    mailer: &Arc<Mailer>,
    timing: &JobTiming,
    claims: Vec<Claim>,
    shutdown: &watch::Receiver<bool>,
) -> (Vec<(Claim, Outcome)>, Vec<Claim>) {
    let permits = Arc::new(Semaphore::new(SMTP_CONNECTIONS as usize));
    let sent_in_batch: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let mut tasks = JoinSet::new();
    for claim in claims {
        let (store, mailer, permits, shutdown) = (
            store.clone(),
            mailer.clone(),
            permits.clone(),
            shutdown.clone(),
        );
        let (timing, sent_in_batch) = (timing.clone(), sent_in_batch.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            if *shutdown.borrow() {
                return (claim, None);
            }
            let outcome = attempt(&store, &mailer, &timing, &claim, &sent_in_batch).await;
            (claim, Some(outcome))
        });
    }
    let mut done = Vec::new();
    let mut unstarted = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((claim, Some(outcome))) => done.push((claim, outcome)),
            Ok((claim, None)) => unstarted.push(claim),
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
    sent_in_batch: &Mutex<HashMap<String, u32>>,
) -> Outcome {
    let message = &claim.message;
    let now = crate::clock::now();
    let composed = match mailer.compose(store, message, now).await {
        Ok(composed) => composed,
        Err(ComposeError::Build(error)) => return Outcome::Dead { error },
        Err(error) => return failed(timing, claim, error.to_string(), false, now),
    };
    let (recipient, email) = match composed {
        Composed::Ready { recipient, message } => (recipient, message),
        Composed::Skip(reason) => {
            tracing::info!(message = %message.id, kind = %message.kind, %reason, "email not needed");
            return Outcome::Skipped { reason };
        }
        Composed::NotBefore(until) => return Outcome::Deferred { until },
    };
    if let Some(until) = over_hourly_limit(store, mailer, &recipient, sent_in_batch, now).await {
        tracing::info!(message = %message.id, kind = %message.kind, "email delayed: hourly limit");
        return Outcome::Deferred { until };
    }
    match mailer.transport.send(*email).await {
        Ok(()) => {
            tracing::info!(message = %message.id, kind = %message.kind, attempt = message.attempts + 1, "email sent");
            Outcome::Sent { recipient }
        }
        Err(error) => {
            undo_count(sent_in_batch, &recipient);
            failed(timing, claim, error.message, error.permanent, now)
        }
    }
}

/// When the recipient already had their share this hour: until when to wait.
async fn over_hourly_limit(
    store: &Store,
    mailer: &Mailer,
    recipient: &str,
    sent_in_batch: &Mutex<HashMap<String, u32>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    // Unknown counts do not hold mail back: the limit protects people, not the queue.
    let (sent, oldest) = store
        .sent_to_since(recipient, now - Duration::hours(1))
        .await
        .unwrap_or_default();
    let mut batch = sent_in_batch.lock().unwrap_or_else(|e| e.into_inner());
    let in_batch = batch.entry(recipient.to_owned()).or_default();
    if sent + i64::from(*in_batch) >= i64::from(mailer.hourly_limit) {
        let until = oldest.map_or(now, |o| o + Duration::hours(1));
        return Some(until.max(now + Duration::minutes(1)));
    }
    *in_batch += 1;
    None
}

fn undo_count(sent_in_batch: &Mutex<HashMap<String, u32>>, recipient: &str) {
    let mut batch = sent_in_batch.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(count) = batch.get_mut(recipient) {
        *count = count.saturating_sub(1);
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
        message = %claim.message.id,
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
