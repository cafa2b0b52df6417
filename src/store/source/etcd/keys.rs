//! The key layout under `--etcd-prefix` (DESIGN.md section 6).
//!
//! `<prefix>head` holds the last committed xborder revision; `<prefix>log/<revision>` each
//! committed record (zero-padded, so keys sort by revision); `<prefix>snapshot/<revision>`
//! whole states for bootstrap; `<prefix>store_id` the store's identity; and
//! `<prefix>value/<kind>/<name>` each entry's current value, for people reading etcd.

/// Keys of one store in etcd.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        let mut prefix = prefix.to_owned();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Self { prefix }
    }

    pub(super) fn head(&self) -> String {
        format!("{}head", self.prefix)
    }

    pub(super) fn store_id(&self) -> String {
        format!("{}store_id", self.prefix)
    }

    pub(super) fn log_prefix(&self) -> String {
        format!("{}log/", self.prefix)
    }

    pub(super) fn log(&self, revision: u64) -> String {
        format!("{}log/{revision:020}", self.prefix)
    }

    pub(super) fn snapshot_prefix(&self) -> String {
        format!("{}snapshot/", self.prefix)
    }

    pub(super) fn snapshot(&self, revision: u64) -> String {
        format!("{}snapshot/{revision:020}", self.prefix)
    }

    pub(super) fn value(&self, kind: &str, name: &str) -> String {
        format!("{}value/{kind}/{name}", self.prefix)
    }

    /// The revision a `log/` or `snapshot/` key names.
    pub(super) fn revision_of(key: &str) -> Option<u64> {
        key.rsplit('/').next()?.parse().ok()
    }
}
