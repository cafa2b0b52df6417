//! The ids that rules and requests may use: data categories, mechanisms, purposes,
//! protection states, obligations and exporter attributes.
//!
//! The vocabulary is data (`deploy/rules/vocabulary/*.yaml`), not code, so a new id needs
//! no release. Each kind is interned into small integer ids so the engine can test
//! membership with fixed bitsets ([`IdSet`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

/// Most ids one kind of vocabulary may hold: the width of an [`IdSet`].
pub const MAX_IDS_PER_KIND: usize = 256;

/// One vocabulary file as written: each section maps an id to its definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VocabularyFile {
    /// Data categories: dotted keys with prefix matching.
    #[serde(default)]
    pub categories: BTreeMap<String, Definition>,
    /// Transfer mechanisms a caller may state as `safeguards`.
    #[serde(default)]
    pub mechanisms: BTreeMap<String, Definition>,
    /// Purposes of a flow.
    #[serde(default)]
    pub purposes: BTreeMap<String, Definition>,
    /// Protection states of the data in a flow.
    #[serde(default)]
    pub protections: BTreeMap<String, Definition>,
    /// Obligations a matched rule adds to the answer.
    #[serde(default)]
    pub obligations: BTreeMap<String, Definition>,
    /// Boolean attributes of the exporter.
    #[serde(default)]
    pub exporter_attributes: BTreeMap<String, Definition>,
    /// Boolean attributes of the importer.
    #[serde(default)]
    pub importer_attributes: BTreeMap<String, Definition>,
}

/// One id's definition: a one-line description, or for a mechanism that others' laws
/// accept in their own terms, the description with the mechanisms it `implies` (a flow
/// stating `bcr` also counts as having `sg_legally_enforceable_obligations`), so callers
/// state what they have once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Definition {
    /// `id: description`
    Described(String),
    /// `id: {description: ..., implies: [...]}`
    Detailed(DetailedDefinition),
}

/// The long form of an [`Definition`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailedDefinition {
    /// What the id means.
    pub description: String,
    /// Mechanisms that holding this one also satisfies (mechanisms only; no cycles).
    #[serde(default)]
    pub implies: Vec<String>,
}

impl Definition {
    /// What the id means.
    pub fn description(&self) -> &str {
        match self {
            Definition::Described(description) => description,
            Definition::Detailed(entry) => &entry.description,
        }
    }

    /// The ids this one implies (empty for the short form).
    pub fn implies(&self) -> &[String] {
        match self {
            Definition::Described(_) => &[],
            Definition::Detailed(entry) => &entry.implies,
        }
    }
}

impl From<&str> for Definition {
    fn from(description: &str) -> Self {
        Definition::Described(description.to_owned())
    }
}

/// The kinds of vocabulary id; used to name the section a violation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `categories`
    Category,
    /// `mechanisms`
    Mechanism,
    /// `purposes`
    Purpose,
    /// `protections`
    Protection,
    /// `obligations`
    Obligation,
    /// `exporter_attributes`
    ExporterAttribute,
    /// `importer_attributes`
    ImporterAttribute,
}

impl Kind {
    /// Every kind, in file order.
    pub const ALL: [Kind; 7] = [
        Kind::Category,
        Kind::Mechanism,
        Kind::Purpose,
        Kind::Protection,
        Kind::Obligation,
        Kind::ExporterAttribute,
        Kind::ImporterAttribute,
    ];

    /// The section name in a vocabulary file.
    pub fn section(self) -> &'static str {
        match self {
            Kind::Category => "categories",
            Kind::Mechanism => "mechanisms",
            Kind::Purpose => "purposes",
            Kind::Protection => "protections",
            Kind::Obligation => "obligations",
            Kind::ExporterAttribute => "exporter_attributes",
            Kind::ImporterAttribute => "importer_attributes",
        }
    }

    /// The singular noun used in messages ("unknown mechanism `x`").
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Category => "data category",
            Kind::Mechanism => "mechanism",
            Kind::Purpose => "purpose",
            Kind::Protection => "protection state",
            Kind::Obligation => "obligation",
            Kind::ExporterAttribute => "exporter attribute",
            Kind::ImporterAttribute => "importer attribute",
        }
    }
}

impl VocabularyFile {
    /// The section of one kind.
    pub fn section(&self, kind: Kind) -> &BTreeMap<String, Definition> {
        match kind {
            Kind::Category => &self.categories,
            Kind::Mechanism => &self.mechanisms,
            Kind::Purpose => &self.purposes,
            Kind::Protection => &self.protections,
            Kind::Obligation => &self.obligations,
            Kind::ExporterAttribute => &self.exporter_attributes,
            Kind::ImporterAttribute => &self.importer_attributes,
        }
    }

    fn section_mut(&mut self, kind: Kind) -> &mut BTreeMap<String, Definition> {
        match kind {
            Kind::Category => &mut self.categories,
            Kind::Mechanism => &mut self.mechanisms,
            Kind::Purpose => &mut self.purposes,
            Kind::Protection => &mut self.protections,
            Kind::Obligation => &mut self.obligations,
            Kind::ExporterAttribute => &mut self.exporter_attributes,
            Kind::ImporterAttribute => &mut self.importer_attributes,
        }
    }

    /// Adds `other`'s ids to this file; returns the ids both define (not added twice).
    pub fn merge(&mut self, other: &VocabularyFile) -> Vec<(Kind, String)> {
        let mut duplicates = Vec::new();
        for kind in Kind::ALL {
            let section = self.section_mut(kind);
            for (id, description) in other.section(kind) {
                if section.contains_key(id) {
                    duplicates.push((kind, id.clone()));
                } else {
                    section.insert(id.clone(), description.clone());
                }
            }
        }
        duplicates
    }
}

/// Interned ids of one kind, in sorted order: id `n` is the `n`-th smallest string.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    names: Vec<String>,
    ids: HashMap<String, u8>,
}

impl Interner {
    fn new<'a>(names: impl Iterator<Item = &'a String>) -> Self {
        let names: Vec<String> = names.take(MAX_IDS_PER_KIND).cloned().collect();
        let ids = names
            .iter()
            .enumerate()
            .map(|(index, name)| (name.clone(), index as u8))
            .collect();
        Self { names, ids }
    }

    /// The id of a name, if the vocabulary defines it.
    pub fn get(&self, name: &str) -> Option<u8> {
        self.ids.get(name).copied()
    }

    /// The name of an id.
    pub fn name(&self, id: u8) -> &str {
        &self.names[usize::from(id)]
    }

    /// All names with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(index, name)| (index as u8, name.as_str()))
    }
}

/// A validated vocabulary, interned for the engine.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    /// The merged definitions, as written.
    pub definitions: VocabularyFile,
    interners: [Interner; Kind::ALL.len()],
    /// For each mechanism id, itself and every mechanism it implies, transitively.
    implied: Vec<IdSet>,
}

impl Vocabulary {
    /// Interns a merged vocabulary. Ids past [`MAX_IDS_PER_KIND`] are dropped, so validate
    /// with [`crate::model::validate::vocabulary`] first.
    pub fn new(definitions: VocabularyFile) -> Self {
        let interners = Kind::ALL.map(|kind| Interner::new(definitions.section(kind).keys()));
        let mechanisms = &interners[Kind::Mechanism as usize];
        let implied = mechanisms
            .iter()
            .map(|(id, _)| implied_by(&definitions.mechanisms, mechanisms, id))
            .collect();
        Self {
            definitions,
            interners,
            implied,
        }
    }

    /// `mechanisms` with every mechanism they imply added.
    pub fn with_implied(&self, mechanisms: IdSet) -> IdSet {
        let mut all = mechanisms;
        for (id, implied) in self.implied.iter().enumerate() {
            if mechanisms.contains(id as u8) {
                all.extend(implied);
            }
        }
        all
    }

    /// The interned ids of one kind.
    pub fn ids(&self, kind: Kind) -> &Interner {
        &self.interners[kind as usize]
    }

    /// Whether `name` is a defined id of `kind`.
    pub fn contains(&self, kind: Kind, name: &str) -> bool {
        self.ids(kind).get(name).is_some()
    }

    /// Every category equal to or below `key` in the taxonomy (`user.health_and_medical`
    /// covers `user.health_and_medical.genetic`).
    pub fn categories_under(&self, key: &str) -> IdSet {
        self.ids(Kind::Category)
            .iter()
            .filter(|(_, name)| {
                name.strip_prefix(key)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
            .map(|(id, _)| id)
            .collect()
    }
}

/// `start` and every mechanism reachable from it through `implies` (unknown ids and cycles
/// are validation errors; here they are skipped, so the walk always ends).
fn implied_by(entries: &BTreeMap<String, Definition>, ids: &Interner, start: u8) -> IdSet {
    let mut seen = IdSet::EMPTY;
    let mut pending = vec![start];
    while let Some(id) = pending.pop() {
        if seen.contains(id) {
            continue;
        }
        seen.insert(id);
        if let Some(entry) = entries.get(ids.name(id)) {
            pending.extend(entry.implies().iter().filter_map(|name| ids.get(name)));
        }
    }
    seen
}

/// A set of interned ids of one kind, as a fixed 256-bit bitset.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IdSet([u64; MAX_IDS_PER_KIND / 64]);

impl IdSet {
    /// The empty set.
    pub const EMPTY: Self = Self([0; MAX_IDS_PER_KIND / 64]);

    /// Adds an id.
    pub fn insert(&mut self, id: u8) {
        self.0[usize::from(id / 64)] |= 1 << (id % 64);
    }

    /// Whether `id` is a member.
    pub fn contains(&self, id: u8) -> bool {
        self.0[usize::from(id / 64)] & (1 << (id % 64)) != 0
    }

    /// Whether the two sets share a member.
    pub fn intersects(&self, other: &Self) -> bool {
        self.0.iter().zip(other.0).any(|(a, b)| a & b != 0)
    }

    /// Whether every member of `other` is a member of this set.
    pub fn is_superset(&self, other: &Self) -> bool {
        self.0.iter().zip(other.0).all(|(a, b)| a & b == b)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|word| *word == 0)
    }

    /// Adds every member of `other`.
    pub fn extend(&mut self, other: &Self) {
        for (word, other) in self.0.iter_mut().zip(other.0) {
            *word |= other;
        }
    }
}

impl FromIterator<u8> for IdSet {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        for id in iter {
            set.insert(id);
        }
        set
    }
}

impl fmt::Debug for IdSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries((0..=u8::MAX).filter(|id| self.contains(*id)))
            .finish()
    }
}
