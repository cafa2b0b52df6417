//! `--store etcd`: etcd as the source of truth, every xborderd a replica holding the whole
//! store in memory (DESIGN.md section 6).
//!
//! Each commit is one etcd transaction comparing `<prefix>head` with the revision this
//! replica has installed: it writes the new head, the log entry (the same record the
//! journal holds) and the entry's current value. A lost compare means another replica
//! committed first: the store catches up and prepares the write again, so compare-and-set
//! conflicts are reported only when the entry's version really differs. Records committed
//! elsewhere arrive through a resuming watch (`follow`) and the store's one install path.

mod bridge;
mod follow;
mod keys;

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions, SortOrder, SortTarget,
    Txn, TxnOp, TxnOpResponse,
};

use crate::engine::Snapshot;
use crate::model::Library;
use crate::store::Store;
use crate::store::clock::Clock;
use crate::store::record::{Committed, Record};

use super::health::SourceHealth;
use super::{AppendError, CommitLog, state};
use bridge::Bridge;
use keys::Keys;

/// How to reach etcd.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Client URLs of the etcd members.
    pub endpoints: Vec<String>,
    /// Prefix of every key of this store.
    pub prefix: String,
    /// Bound on connecting at start and on each request.
    pub timeout: Duration,
    /// A replica writes a snapshot key every this many revisions it commits.
    pub snapshot_every: u64,
    /// How long etcd may be out of reach before the replica reports NOT_SERVING.
    pub max_staleness: Duration,
}

/// How often a replica asks etcd for the log's head: its contact and lag.
const HEARTBEAT: Duration = Duration::from_millis(500);

/// Why the store could not be opened on etcd.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// etcd could not be reached or refused a request.
    #[error("etcd: {0}")]
    Unavailable(String),
    /// A key under the prefix does not hold what xborder writes there: nothing was applied.
    #[error(
        "{key}: {reason}; the prefix holds data xborder did not write (or damaged data): nothing was applied"
    )]
    Foreign {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<etcd_client::Error> for EtcdError {
    fn from(error: etcd_client::Error) -> Self {
        Self::Unavailable(error.to_string())
    }
}

/// The commit log in etcd.
struct EtcdLog {
    bridge: Arc<Bridge>,
    client: Client,
    keys: Keys,
    options: EtcdOptions,
}

impl std::fmt::Debug for EtcdLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdLog")
            .field("endpoints", &self.options.endpoints)
            .field("prefix", &self.options.prefix)
            .finish_non_exhaustive()
    }
}

impl CommitLog for EtcdLog {
    fn append(&mut self, committed: &Committed) -> Result<(), AppendError> {
        let payload = serde_json::to_vec(committed)
            .map_err(|error| AppendError::Failed(error.to_string()))?;
        let head = self.keys.head();
        let mut operations = vec![
            TxnOp::put(head.clone(), committed.revision.to_string(), None),
            TxnOp::put(self.keys.log(committed.revision), payload, None),
        ];
        operations.extend(value_operation(&self.keys, &committed.record));
        let txn = Txn::new()
            .when([Compare::value(
                head.clone(),
                CompareOp::Equal,
                (committed.revision - 1).to_string(),
            )])
            .and_then(operations)
            .or_else([TxnOp::get(head, None)]);
        let mut client = self.client.clone();
        let answer = self
            .bridge
            .call(self.options.timeout, async move { client.txn(txn).await })
            .map_err(AppendError::Failed)?
            .map_err(|error| AppendError::Failed(format!("etcd: {error}")))?;
        if answer.succeeded() {
            return Ok(());
        }
        let head = answer
            .op_responses()
            .into_iter()
            .find_map(|response| match response {
                TxnOpResponse::Get(get) => get
                    .kvs()
                    .first()
                    .and_then(|kv| kv.value_str().ok()?.parse().ok()),
                _ => None,
            })
            .unwrap_or(committed.revision);
        Err(AppendError::Superseded { head })
    }

    fn installed(&mut self, snapshot: &Snapshot, oldest_retained: u64) {
        if !snapshot
            .revision
            .is_multiple_of(self.options.snapshot_every.max(1))
        {
            return;
        }
        let bytes = match state::encode(snapshot) {
            Ok(bytes) => bytes,
            Err(error) => return tracing::error!(%error, "cannot encode a snapshot for etcd"),
        };
        let key = self.keys.snapshot(snapshot.revision);
        let (mut client, keys) = (self.client.clone(), self.keys.clone());
        self.bridge.spawn(async move {
            if let Err(error) = client.put(key, bytes, None).await {
                return tracing::warn!(%error, "cannot write a snapshot key to etcd");
            }
            if let Err(error) = compact(&mut client, &keys, oldest_retained).await {
                tracing::warn!(%error, "cannot compact the log in etcd");
            }
        });
    }
}

/// Deletes, in one transaction, the log entries and snapshot keys no retained revision
/// needs: everything before the newest snapshot at or before `oldest_retained` (a replica
/// starts from that snapshot and the log after it).
async fn compact(
    client: &mut Client,
    keys: &Keys,
    oldest_retained: u64,
) -> Result<(), etcd_client::Error> {
    let newest_usable = GetOptions::new()
        .with_range(keys.snapshot(oldest_retained + 1))
        .with_sort(SortTarget::Key, SortOrder::Descend)
        .with_keys_only()
        .with_limit(1);
    let found = client
        .get(keys.snapshot_prefix(), Some(newest_usable))
        .await?;
    let Some(keep_from) = found
        .kvs()
        .first()
        .and_then(|kv| Keys::revision_of(kv.key_str().ok()?))
    else {
        return Ok(());
    };
    let txn = Txn::new().and_then([
        TxnOp::delete(
            keys.log(0),
            Some(DeleteOptions::new().with_range(keys.log(keep_from + 1))),
        ),
        TxnOp::delete(
            keys.snapshot(0),
            Some(DeleteOptions::new().with_range(keys.snapshot(keep_from))),
        ),
    ]);
    client.txn(txn).await?;
    Ok(())
}

/// The `value/` key a record changes, for people reading etcd.
fn value_operation(keys: &Keys, record: &Record) -> Option<TxnOp> {
    let encoded = |value: Result<Vec<u8>, serde_json::Error>| value.unwrap_or_default();
    match record {
        Record::PutRuleSet { rule_set, .. } => Some(TxnOp::put(
            keys.value("rule_set", &rule_set.jurisdiction),
            encoded(serde_json::to_vec(rule_set)),
            None,
        )),
        Record::PutGroup { group, .. } => Some(TxnOp::put(
            keys.value("group", &group.name),
            encoded(serde_json::to_vec(group)),
            None,
        )),
        Record::DeleteRuleSet { jurisdiction, .. } => {
            Some(TxnOp::delete(keys.value("rule_set", jurisdiction), None))
        }
        Record::BecameEffective { .. } => None,
    }
}

impl Store {
    /// Opens the store kept in etcd, creating it from `library` (revision 1) when the prefix
    /// is empty, and follows it from then on. Returns once this replica has caught up.
    pub fn open_etcd(
        options: &EtcdOptions,
        library: &Library,
        history_revisions: u64,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, EtcdError> {
        let bridge = Arc::new(Bridge::start().map_err(EtcdError::Unavailable)?);
        let keys = Keys::new(&options.prefix);
        let endpoints = options.endpoints.clone();
        let connect = ConnectOptions::new()
            .with_connect_timeout(options.timeout)
            .with_timeout(options.timeout);
        let client = bridge
            .call(options.timeout * 2, async move {
                Client::connect(endpoints, Some(connect)).await
            })
            .map_err(EtcdError::Unavailable)??;
        let first = Snapshot::from_library(library, 1, clock.now());
        let bytes = state::encode(&first).map_err(EtcdError::Unavailable)?;
        let (setup_client, setup_keys) = (client.clone(), keys.clone());
        let history = history_revisions;
        let (snapshot, store_id) = bridge
            .call(options.timeout * 4, async move {
                bootstrap(setup_client, &setup_keys, bytes, history).await
            })
            .map_err(EtcdError::Unavailable)??;
        let store = Store::from_snapshot(snapshot, history_revisions, clock, store_id);
        let (mut catch_client, catch_keys, catch_store) =
            (client.clone(), keys.clone(), Arc::clone(&store));
        let seen = bridge
            .call(options.timeout * 10, async move {
                follow::catch_up(&catch_store, &mut catch_client, &catch_keys).await
            })
            .map_err(EtcdError::Unavailable)??;
        bridge.spawn(follow::follow(
            Arc::downgrade(&store),
            client.clone(),
            keys.clone(),
            seen + 1,
        ));
        let health = Arc::new(SourceHealth::new(options.max_staleness));
        let _ = store.source_health.set(Arc::clone(&health));
        bridge.spawn(heartbeat(
            Arc::downgrade(&store),
            client.clone(),
            keys.clone(),
            health,
        ));
        tracing::info!(
            revision = store.head(),
            store_id = store.store_id(),
            prefix = options.prefix.as_str(),
            "following the store in etcd"
        );
        store.attach_log(Box::new(EtcdLog {
            bridge,
            client,
            keys,
            options: options.clone(),
        }));
        Ok(store)
    }
}

/// Reads the log's head every heartbeat, until the store is dropped: contact and lag.
async fn heartbeat(
    store: std::sync::Weak<Store>,
    mut client: Client,
    keys: Keys,
    health: Arc<SourceHealth>,
) {
    let mut ticks = tokio::time::interval(HEARTBEAT);
    loop {
        ticks.tick().await;
        if store.strong_count() == 0 {
            return;
        }
        let answer = tokio::time::timeout(HEARTBEAT * 2, client.get(keys.head(), None)).await;
        if let Ok(Ok(answer)) = answer {
            let head = answer
                .kvs()
                .first()
                .and_then(|kv| kv.value_str().ok()?.parse().ok())
                .unwrap_or(0);
            health.contact(head);
        }
    }
}

/// Creates the store under the prefix if it is empty; returns the snapshot to start from
/// (the newest one that still lets the history window be replayed) and the store id.
async fn bootstrap(
    mut client: Client,
    keys: &Keys,
    first_snapshot: Vec<u8>,
    history: u64,
) -> Result<(Snapshot, String), EtcdError> {
    let create = Txn::new()
        .when([Compare::create_revision(keys.head(), CompareOp::Equal, 0)])
        .and_then([
            TxnOp::put(keys.head(), "1", None),
            TxnOp::put(keys.store_id(), Store::new_id(), None),
            TxnOp::put(keys.snapshot(1), first_snapshot, None),
        ]);
    client.txn(create).await?;
    let text = |key: String, kvs: &[etcd_client::KeyValue]| -> Result<String, EtcdError> {
        kvs.first()
            .and_then(|kv| kv.value_str().ok())
            .map(str::to_owned)
            .ok_or(EtcdError::Foreign {
                key,
                reason: "missing or not text".into(),
            })
    };
    let store_id = text(
        keys.store_id(),
        client.get(keys.store_id(), None).await?.kvs(),
    )?;
    let head_text = text(keys.head(), client.get(keys.head(), None).await?.kvs())?;
    let head: u64 = head_text.parse().map_err(|_| EtcdError::Foreign {
        key: keys.head(),
        reason: format!("`{head_text}` is not a revision"),
    })?;
    let wanted = head.saturating_sub(history.saturating_sub(1)).max(1);
    let newest_usable = GetOptions::new()
        .with_range(keys.snapshot(wanted + 1))
        .with_sort(SortTarget::Key, SortOrder::Descend)
        .with_limit(1);
    let mut found = client
        .get(keys.snapshot_prefix(), Some(newest_usable))
        .await?;
    if found.kvs().is_empty() {
        let oldest = GetOptions::new()
            .with_prefix()
            .with_sort(SortTarget::Key, SortOrder::Ascend)
            .with_limit(1);
        found = client.get(keys.snapshot_prefix(), Some(oldest)).await?;
    }
    let kv = found.kvs().first().ok_or(EtcdError::Foreign {
        key: keys.snapshot_prefix(),
        reason: "no snapshot key".into(),
    })?;
    let key = kv.key_str().unwrap_or_default().to_owned();
    let snapshot = state::decode(kv.value()).map_err(|reason| EtcdError::Foreign {
        key: key.clone(),
        reason,
    })?;
    if Keys::revision_of(&key) != Some(snapshot.revision) {
        return Err(EtcdError::Foreign {
            key,
            reason: format!("holds revision {}", snapshot.revision),
        });
    }
    Ok((snapshot, store_id))
}
