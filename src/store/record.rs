//! The committed record: what a journal line and (later) an etcd log entry both hold.
//!
//! A record is the request behind a change, not its result: installing it against the state
//! of the revision before it reproduces the change exactly, so every source of committed
//! records (journal replay, a replica catching up) goes through the same install path.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::{CountryGroup, RuleSet};

/// The request behind a committed change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Record {
    /// `PutRuleSet`.
    PutRuleSet {
        /// The rule set written.
        rule_set: RuleSet,
        /// Its expected version.
        expected_version: u64,
    },
    /// `DeleteRuleSet`.
    DeleteRuleSet {
        /// The jurisdiction deleted.
        jurisdiction: String,
        /// Its expected version.
        expected_version: u64,
    },
    /// `PutCountryGroup`.
    PutGroup {
        /// The group written.
        group: CountryGroup,
        /// Its expected version.
        expected_version: u64,
    },
    /// A rule's effective date passed for one jurisdiction.
    BecameEffective {
        /// The jurisdiction.
        jurisdiction: String,
        /// The moment.
        boundary: Timestamp,
        /// Whether this change moved the effective time on.
        last: bool,
    },
}

/// A record with the revision and time it was committed at: one line of the commit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// The revision the record created.
    pub revision: u64,
    /// When it was committed.
    pub committed_at: Timestamp,
    /// The request.
    pub record: Record,
}
