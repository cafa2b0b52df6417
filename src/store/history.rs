//! The retained history: the change log (one event per revision) and, per entry, the chain
//! of values it has had, so any retained revision can be read. Each revision stores only
//! what it changed; values are shared `Arc`s.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use super::error::StoreError;
use super::event::{ChangeEvent, Key, Value};

/// One value an entry took at a revision (`None` once deleted).
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) revision: u64,
    pub(crate) version: u64,
    pub(crate) value: Option<Value>,
}

/// What a watcher's cursor finds in the log.
pub(crate) enum Next {
    /// The first matching event at or after the cursor.
    Event(Arc<ChangeEvent>),
    /// Nothing matches up to and including this head revision.
    UpToDate(u64),
}

#[derive(Debug)]
pub(crate) struct History {
    /// Events of revisions after the base, oldest first; revisions are contiguous.
    events: VecDeque<Arc<ChangeEvent>>,
    /// Value chains per entry, oldest first.
    chains: HashMap<Key, VecDeque<Link>>,
    /// Oldest readable revision.
    oldest: u64,
    /// Current revision.
    head: u64,
    /// How many revisions to keep readable.
    limit: u64,
}

impl History {
    /// A history whose base revision `head` holds `initial` values.
    pub(crate) fn new(
        head: u64,
        limit: u64,
        initial: impl IntoIterator<Item = (Key, u64, Value)>,
    ) -> Self {
        let chains = initial
            .into_iter()
            .map(|(key, version, value)| {
                let link = Link {
                    revision: head,
                    version,
                    value: Some(value),
                };
                (key, VecDeque::from([link]))
            })
            .collect();
        Self {
            events: VecDeque::new(),
            chains,
            oldest: head,
            head,
            limit: limit.max(1),
        }
    }

    pub(crate) fn head(&self) -> u64 {
        self.head
    }

    pub(crate) fn oldest(&self) -> u64 {
        self.oldest
    }

    /// Checks that `revision` is readable.
    pub(crate) fn check(&self, revision: u64) -> Result<(), StoreError> {
        if revision < self.oldest {
            Err(StoreError::Compacted {
                requested: revision,
                oldest: self.oldest,
            })
        } else if revision > self.head {
            Err(StoreError::FutureRevision {
                requested: revision,
                head: self.head,
            })
        } else {
            Ok(())
        }
    }

    /// Appends the event of revision `head + 1` with the values it installs, then compacts.
    pub(crate) fn append(
        &mut self,
        event: Arc<ChangeEvent>,
        values: Vec<(Key, u64, Option<Value>)>,
    ) {
        debug_assert_eq!(event.revision, self.head + 1);
        self.head = event.revision;
        for (key, version, value) in values {
            let link = Link {
                revision: event.revision,
                version,
                value,
            };
            self.chains.entry(key).or_default().push_back(link);
        }
        self.events.push_back(event);
        while self.head - self.oldest + 1 > self.limit {
            self.oldest += 1;
            while self
                .events
                .front()
                .is_some_and(|event| event.revision < self.oldest)
            {
                if let Some(popped) = self.events.pop_front() {
                    self.prune(&popped);
                }
            }
        }
    }

    /// Drops links no retained revision can see, for the entries a popped event touched.
    fn prune(&mut self, popped: &ChangeEvent) {
        let touched = std::iter::once(popped.key.clone())
            .chain(popped.jurisdictions.iter().map(|j| Key::RuleSet(j.clone())));
        for key in touched {
            let Some(chain) = self.chains.get_mut(&key) else {
                continue;
            };
            while chain.len() > 1 && chain[1].revision <= self.oldest {
                chain.pop_front();
            }
            if chain.len() == 1 && chain[0].value.is_none() && chain[0].revision <= self.oldest {
                self.chains.remove(&key);
            }
        }
    }

    /// The link of `key` visible at `revision` (assumed readable).
    pub(crate) fn link_at(&self, key: &Key, revision: u64) -> Option<&Link> {
        let chain = self.chains.get(key)?;
        let after = chain.partition_point(|link| link.revision <= revision);
        after.checked_sub(1).map(|index| &chain[index])
    }

    /// The retained links of `key`, oldest first.
    pub(crate) fn chain(&self, key: &Key) -> impl Iterator<Item = &Link> {
        self.chains.get(key).into_iter().flatten()
    }

    /// Every entry's value at `revision` (assumed readable), by key.
    pub(crate) fn values_at(&self, revision: u64) -> BTreeMap<&Key, &Value> {
        self.chains
            .keys()
            .filter_map(|key| {
                let value = self.link_at(key, revision)?.value.as_ref()?;
                Some((key, value))
            })
            .collect()
    }

    /// The event of `revision`, if it is retained (the base revision has none).
    pub(crate) fn event(&self, revision: u64) -> Option<&Arc<ChangeEvent>> {
        let first = self.events.front()?.revision;
        self.events
            .get(usize::try_from(revision.checked_sub(first)?).ok()?)
    }

    /// The first event at or after `from` that concerns `jurisdictions` (empty = all).
    pub(crate) fn next_matching(
        &self,
        from: u64,
        jurisdictions: &[String],
    ) -> Result<Next, StoreError> {
        if from < self.oldest {
            return Err(StoreError::Compacted {
                requested: from,
                oldest: self.oldest,
            });
        }
        let found = (from..=self.head)
            .filter_map(|revision| self.event(revision))
            .find(|event| event.concerns(jurisdictions));
        Ok(match found {
            Some(event) => Next::Event(Arc::clone(event)),
            None => Next::UpToDate(self.head),
        })
    }
}
