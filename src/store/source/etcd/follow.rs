//! Following the shared log: every record another replica commits reaches this replica
//! through a watch on `<prefix>log/`, installed through the store's one install path. The
//! watch resumes by itself after a dropped connection, a dead member or a leader change
//! (the client crate does not): from the etcd revision after the last event it saw, and a
//! gap is filled by reading the log range it missed.

use std::sync::{Arc, Weak};
use std::time::Duration;

use etcd_client::{Client, EventType, GetOptions, WatchOptions};

use crate::store::error::StoreError;
use crate::store::record::Committed;
use crate::store::{Origin, Store, write};

use super::EtcdError;
use super::keys::Keys;

/// Most log entries read in one range request.
const PAGE: i64 = 500;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Parses one log entry, naming its key when it is not a record of the revision it names.
pub(super) fn record(key: &str, value: &[u8]) -> Result<Committed, EtcdError> {
    let committed: Committed =
        serde_json::from_slice(value).map_err(|error| EtcdError::Foreign {
            key: key.to_owned(),
            reason: format!("not an xborder log record: {error}"),
        })?;
    if Keys::revision_of(key) != Some(committed.revision) {
        return Err(EtcdError::Foreign {
            key: key.to_owned(),
            reason: format!("holds revision {}", committed.revision),
        });
    }
    Ok(committed)
}

/// Installs every log entry after the store's head, page by page; returns the etcd
/// revision the reads saw, from which a watch continues.
pub(super) async fn catch_up(
    store: &Arc<Store>,
    client: &mut Client,
    keys: &Keys,
) -> Result<i64, EtcdError> {
    let end = format!("{}~", keys.log_prefix());
    loop {
        let from = keys.log(store.head() + 1);
        let page = client
            .get(
                from,
                Some(GetOptions::new().with_range(end.clone()).with_limit(PAGE)),
            )
            .await
            .map_err(EtcdError::from)?;
        let seen = page.header().map_or(0, |header| header.revision());
        for kv in page.kvs() {
            let key = kv.key_str().unwrap_or_default().to_owned();
            let committed = record(&key, kv.value())?;
            if committed.revision != store.head() + 1 {
                return Err(EtcdError::Foreign {
                    key,
                    reason: format!(
                        "the log skips from revision {} to {}",
                        store.head(),
                        committed.revision
                    ),
                });
            }
            install(store, committed)
                .await
                .map_err(|reason| EtcdError::Foreign {
                    key: key.clone(),
                    reason,
                })?;
        }
        if !page.more() {
            return Ok(seen);
        }
    }
}

impl Store {
    /// Installs a record from a shared log that this store may have installed already (its
    /// own commit, or one a catch-up read first): `false` when it had.
    pub(crate) fn install_from_log(&self, committed: Committed) -> Result<bool, StoreError> {
        let writer = self.lock_writer();
        if committed.revision <= self.head() {
            return Ok(false);
        }
        let mut change = write::prepare(&self.snapshot(), committed.record)?;
        change.committed_at = Some(committed.committed_at);
        self.install_locked(&writer, committed.revision, change, Origin::Log)?;
        Ok(true)
    }
}

/// Installs a record off the etcd runtime: installing takes the store's writer lock, which
/// a local writer holds while it waits for this runtime to carry its transaction.
async fn install(store: &Arc<Store>, committed: Committed) -> Result<bool, String> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || store.install_from_log(committed))
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| error.to_string())
}

/// Follows the log from etcd revision `from` until the store is dropped.
pub(super) async fn follow(store: Weak<Store>, mut client: Client, keys: Keys, mut from: i64) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let options = WatchOptions::new().with_prefix().with_start_revision(from);
        match client.watch(keys.log_prefix(), Some(options)).await {
            Ok(mut stream) => loop {
                let message = match stream.message().await {
                    Ok(Some(message)) => message,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(%error, "the etcd watch broke: resuming");
                        break;
                    }
                };
                backoff = FIRST_BACKOFF;
                if message.canceled() {
                    tracing::error!(
                        compact_revision = message.compact_revision(),
                        reason = message.cancel_reason(),
                        "etcd cancelled the log watch (compacted past this replica?): catching up from the log"
                    );
                    break;
                }
                let Some(store) = store.upgrade() else {
                    return;
                };
                for event in message.events() {
                    let Some(kv) = event.kv() else { continue };
                    from = from.max(kv.mod_revision() + 1);
                    if event.event_type() != EventType::Put {
                        continue;
                    }
                    let key = kv.key_str().unwrap_or_default();
                    match record(key, kv.value()) {
                        Ok(committed) if committed.revision <= store.head() => {}
                        Ok(committed) if committed.revision == store.head() + 1 => {
                            if let Err(error) = install(&store, committed).await {
                                tracing::error!(%error, key, "cannot install a log record");
                            }
                        }
                        Ok(_) => {
                            if let Err(error) = catch_up(&store, &mut client, &keys).await {
                                tracing::error!(%error, "cannot fill a gap in the log");
                            }
                        }
                        Err(error) => tracing::error!(%error, "skipping a log entry"),
                    }
                }
            },
            Err(error) => tracing::warn!(%error, "cannot watch the etcd log: retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        let Some(store) = store.upgrade() else {
            return;
        };
        // Whatever happened while the watch was down is read from the log.
        match catch_up(&store, &mut client, &keys).await {
            Ok(seen) => from = from.max(seen + 1),
            Err(error) => tracing::warn!(%error, "cannot catch up from the etcd log yet"),
        }
        drop::<Arc<Store>>(store);
    }
}
