//! Deliveries, as programme staff follow them: a dead message (every attempt failed)
//! can be sent again, alone or with every dead message of its kind.

use uuid::Uuid;

use super::access::found;
use super::{OpError, OpResult};
use crate::domain::access::Caller;
use crate::domain::messages::{Delivery, MessageKind};
use crate::store::outbox::OutboxMessage;
use crate::store::Store;

fn admin_only(caller: &Caller) -> OpResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(OpError::Forbidden(
            "only programme staff (admin) may do this",
        ))
    }
}

/// Puts a dead message back in the queue, its attempts counted from zero.
pub async fn retry_message(store: &Store, caller: &Caller, id: Uuid) -> OpResult<OutboxMessage> {
    admin_only(caller)?;
    let message = found(store.message(id).await, "message")?;
    if message.status != Delivery::Dead {
        return Err(OpError::Conflict(format!(
            "only a dead message can be retried; this one is {}",
            message.status
        )));
    }
    store.retry_message(message.id, crate::clock::now()).await?;
    Ok(store.message(message.id).await?)
}

/// Puts every dead message of `kind` back in the queue; returns how many.
pub async fn retry_dead_of_kind(
    store: &Store,
    caller: &Caller,
    kind: MessageKind,
) -> OpResult<u64> {
    admin_only(caller)?;
    Ok(store.retry_dead_of_kind(kind, crate::clock::now()).await?)
}
