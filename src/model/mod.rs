//! The domain: rule sets, rules, country groups, vocabulary, flows and assessments.
//!
//! Plain Rust with serde and no I/O, so the engine, the store, the rule loader and the API
//! all speak the same types.

pub mod assessment;
pub mod country;
pub mod flow;
pub mod library;
pub mod rule;
pub mod validate;
pub mod vocabulary;

pub use assessment::{
    Assessment, Decision, Leg, MatchedRule, Obligation, Requirement, RuleRef, RuleSetVersion,
    TraceEntry,
};
pub use country::{CountryCode, CountrySet};
pub use flow::Flow;
pub use library::{Entry, Library};
pub use rule::{Conditions, CountryGroup, Effect, Profile, Rule, RuleSet};
pub use validate::Violation;
pub use vocabulary::{Definition, IdSet, Kind, Vocabulary, VocabularyFile};
