//! Validation of vocabulary, country groups and rule sets: one validator for rule files and
//! API writes. Every problem is reported, each with the field path it is about
//! (`rules[2].when.destinations_in[0]`); callers turn paths into `file:line:column` or into
//! gRPC field violations.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::country::CountryCode;
use super::rule::{Conditions, CountryGroup, Effect, GROUP_PREFIX, RuleSet, SET_PREFIX};
use super::vocabulary::{Definition, Kind, MAX_IDS_PER_KIND, Vocabulary, VocabularyFile};

/// One problem with a value, named by its field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// Path of the offending field from the document root (`rules[0].any_of[1]`).
    pub path: String,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Collects every violation found, so callers report all problems at once.
#[derive(Debug, Default)]
pub struct Report(Vec<Violation>);

impl Report {
    /// Records a problem with the field at `path`.
    pub fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Violation {
            path: path.into(),
            message: message.into(),
        });
    }

    /// `value` when nothing was recorded, else every violation.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<Violation>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

/// Whether `id` is a well-formed vocabulary or group id: lower-case ASCII letters, digits,
/// `_` and `.`, starting with a letter.
pub fn is_valid_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        && !id.ends_with('.')
        && !id.contains("..")
}

/// Validates a merged vocabulary.
pub fn vocabulary(file: &VocabularyFile) -> Vec<Violation> {
    let mut report = Report::default();
    for kind in Kind::ALL {
        let section = file.section(kind);
        if section.len() > MAX_IDS_PER_KIND {
            report.add(
                kind.section(),
                format!(
                    "at most {MAX_IDS_PER_KIND} {} ids are supported",
                    kind.noun()
                ),
            );
        }
        for (id, entry) in section {
            if !is_valid_id(id) {
                report.add(
                    format!("{}.{id}", kind.section()),
                    format!(
                        "`{id}` is not a valid id (use lower-case letters, digits, `_` and `.`)"
                    ),
                );
            }
            if kind != Kind::Mechanism && !entry.implies().is_empty() {
                report.add(
                    format!("{}.{id}.implies", kind.section()),
                    "only mechanisms may declare `implies`",
                );
            }
        }
    }
    implications(&file.mechanisms, &mut report);
    if !file
        .protections
        .contains_key(super::flow::DEFAULT_PROTECTION)
    {
        report.add(
            "protections",
            "the vocabulary must define the protection state `none`",
        );
    }
    report.0
}

/// Checks each mechanism's `implies`: known mechanisms, not itself, and no cycle (a cycle
/// would make two mechanisms the same one under two names).
fn implications(mechanisms: &BTreeMap<String, Definition>, report: &mut Report) {
    for (id, entry) in mechanisms {
        for (index, implied) in entry.implies().iter().enumerate() {
            let path = format!("mechanisms.{id}.implies[{index}]");
            if !mechanisms.contains_key(implied) {
                report.add(path, format!("unknown mechanism `{implied}`"));
            } else if let Some(cycle) = cycle_through(mechanisms, id, implied) {
                report.add(path, format!("`implies` cycle: {}", cycle.join(" -> ")));
            }
        }
    }
}

/// The path `from -> next -> ... -> from` if following `implies` from `next` leads back to
/// `from`.
fn cycle_through<'a>(
    mechanisms: &'a BTreeMap<String, Definition>,
    from: &'a str,
    next: &'a str,
) -> Option<Vec<&'a str>> {
    let mut stack = vec![vec![from, next]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = *path.last()?;
        if last == from {
            return Some(path);
        }
        if !seen.insert(last) {
            continue;
        }
        for implied in mechanisms.get(last).map_or(&[][..], Definition::implies) {
            let mut longer = path.clone();
            longer.push(implied);
            stack.push(longer);
        }
    }
    None
}

/// Validates a country group on its own.
pub fn group(group: &CountryGroup) -> Vec<Violation> {
    let mut report = Report::default();
    if !is_valid_id(&group.name) {
        report.add(
            "name",
            format!("`{}` is not a valid group name", group.name),
        );
    }
    if group.members.is_empty() {
        report.add("members", "a group needs at least one member");
    }
    let mut seen = HashMap::new();
    for (index, member) in group.members.iter().enumerate() {
        let path = format!("members[{index}]");
        if CountryCode::parse_assigned(member).is_none() {
            report.add(
                path,
                format!("`{member}` is not an ISO 3166-1 alpha-2 country code"),
            );
        } else if let Some(first) = seen.insert(member.to_ascii_uppercase(), index) {
            report.add(
                path,
                format!("`{member}` is listed twice (first at members[{first}])"),
            );
        }
    }
    for (section, dates) in [("joined", &group.joined), ("left", &group.left)] {
        for code in dates.keys() {
            if !group.members.contains(code) {
                report.add(
                    format!("{section}.{code}"),
                    format!("`{code}` is not in members (list it there too)"),
                );
            }
        }
    }
    for (code, left) in &group.left {
        if group.joined.get(code).is_some_and(|joined| joined >= left) {
            report.add(
                format!("left.{code}"),
                format!("`{code}` leaves on {left}, not after it joined"),
            );
        }
    }
    report.0
}

/// Validates a rule set against the vocabulary and the names of the existing groups.
pub fn rule_set(
    rule_set: &RuleSet,
    vocabulary: &Vocabulary,
    group_exists: &dyn Fn(&str) -> bool,
) -> Vec<Violation> {
    let mut report = Report::default();
    let context = Context {
        vocabulary,
        group_exists,
        category_sets: &rule_set.category_sets,
    };
    check_jurisdiction(rule_set, &context, &mut report);
    if let Some(name) = &rule_set.time_zone
        && jiff::tz::TimeZone::get(name).is_err()
    {
        report.add(
            "time_zone",
            format!("`{name}` is not an IANA time zone name (such as `Asia/Shanghai`)"),
        );
    }
    if rule_set.name.trim().is_empty() {
        report.add("name", "a rule set needs a name");
    }
    for (name, members) in rule_set.category_sets.iter() {
        if !is_valid_id(name) {
            report.add(
                format!("category_sets.{name}"),
                format!("`{name}` is not a valid set name"),
            );
        }
        for (index, category) in members.iter().enumerate() {
            if !vocabulary.contains(Kind::Category, category) {
                report.add(
                    format!("category_sets.{name}[{index}]"),
                    format!("unknown data category `{category}`"),
                );
            }
        }
    }
    let mut first_index = HashMap::new();
    for (index, rule) in rule_set.rules.iter().enumerate() {
        let at = format!("rules[{index}]");
        if rule.id.trim().is_empty() {
            report.add(format!("{at}.id"), "a rule needs an id");
        } else if let Some(first) = first_index.insert(rule.id.as_str(), index) {
            report.add(
                format!("{at}.id"),
                format!("duplicate rule id `{}` (first at rules[{first}])", rule.id),
            );
        }
        for (field, value) in [("title", &rule.title), ("citation", &rule.citation)] {
            if value.trim().is_empty() {
                report.add(format!("{at}.{field}"), format!("a rule needs a {field}"));
            }
        }
        if !(rule.source.starts_with("https://") || rule.source.starts_with("http://")) {
            report.add(
                format!("{at}.source"),
                "`source` must be an http(s) URL of the legal text",
            );
        }
        match (rule.effect, rule.any_of.is_empty()) {
            (Effect::Require, true) => report.add(
                format!("{at}.any_of"),
                "a `require` rule needs at least one mechanism in `any_of`",
            ),
            (Effect::Permit | Effect::Prohibit | Effect::Review, false) => report.add(
                format!("{at}.any_of"),
                "`any_of` is only meaningful on `require` rules",
            ),
            _ => {}
        }
        context.ids(
            &mut report,
            &format!("{at}.any_of"),
            &rule.any_of,
            Kind::Mechanism,
        );
        context.ids(
            &mut report,
            &format!("{at}.obligations"),
            &rule.obligations,
            Kind::Obligation,
        );
        context.conditions(&mut report, &format!("{at}.when"), &rule.when);
        for (block, conditions) in rule.unless.iter().enumerate() {
            let path = format!("{at}.unless[{block}]");
            if conditions.is_empty() {
                report.add(&path, "an empty `unless` block would exempt every flow");
            }
            context.conditions(&mut report, &path, conditions);
        }
        if let (Some(from), Some(until)) = (rule.effective_from, rule.effective_until)
            && until <= from
        {
            report.add(
                format!("{at}.effective_until"),
                format!("`effective_until` ({until}) must be after `effective_from` ({from})"),
            );
        }
    }
    report.0
}

fn check_jurisdiction(rule_set: &RuleSet, context: &Context<'_>, report: &mut Report) {
    let code = &rule_set.jurisdiction;
    let letters =
        CountryCode::parse_letters(code).filter(|_| code.bytes().all(|b| b.is_ascii_uppercase()));
    match letters {
        None => report.add(
            "jurisdiction",
            format!("`{code}` is not a jurisdiction code (two upper-case letters)"),
        ),
        Some(country) if country.is_assigned() => {
            if !rule_set.covers.is_empty() {
                report.add(
                    "covers",
                    format!("`{code}` is a country: its rule set applies to itself; `covers` is for bloc rule sets"),
                );
            }
        }
        Some(_) => {
            if rule_set.covers.is_empty() {
                report.add(
                    "jurisdiction",
                    format!("`{code}` is not an ISO 3166-1 country code; a bloc rule set must list the countries it `covers`"),
                );
            }
        }
    }
    context.places(report, "covers", &rule_set.covers);
}

/// What conditions are checked against.
struct Context<'a> {
    vocabulary: &'a Vocabulary,
    group_exists: &'a dyn Fn(&str) -> bool,
    category_sets: &'a BTreeMap<String, Vec<String>>,
}

impl Context<'_> {
    fn ids(&self, report: &mut Report, path: &str, ids: &[String], kind: Kind) {
        for (index, id) in ids.iter().enumerate() {
            if !self.vocabulary.contains(kind, id) {
                report.add(
                    format!("{path}[{index}]"),
                    format!("unknown {} `{id}`", kind.noun()),
                );
            }
        }
    }

    fn places(&self, report: &mut Report, path: &str, places: &[String]) {
        for (index, place) in places.iter().enumerate() {
            let at = format!("{path}[{index}]");
            match place.strip_prefix(GROUP_PREFIX) {
                Some(group) if !(self.group_exists)(group) => {
                    report.add(at, format!("unknown country group `{group}`"))
                }
                Some(_) => {}
                None if CountryCode::parse_assigned(place).is_none() => report.add(
                    at,
                    format!(
                        "`{place}` is neither an ISO 3166-1 alpha-2 country code nor `group:NAME`"
                    ),
                ),
                None => {}
            }
        }
    }

    fn conditions(&self, report: &mut Report, path: &str, conditions: &Conditions) {
        self.places(
            report,
            &format!("{path}.destinations_in"),
            &conditions.destinations_in,
        );
        self.places(
            report,
            &format!("{path}.destinations_not_in"),
            &conditions.destinations_not_in,
        );
        self.places(report, &format!("{path}.origin_in"), &conditions.origin_in);
        self.places(
            report,
            &format!("{path}.origin_not_in"),
            &conditions.origin_not_in,
        );
        for (index, key) in conditions.categories_any.iter().enumerate() {
            let known = match key.strip_prefix(SET_PREFIX) {
                Some(set) => self.category_sets.contains_key(set),
                None => self.vocabulary.contains(Kind::Category, key),
            };
            if !known {
                let message = match key.strip_prefix(SET_PREFIX) {
                    Some(set) => {
                        format!("unknown category set `{set}` (define it under `category_sets`)")
                    }
                    None => format!("unknown data category `{key}`"),
                };
                report.add(format!("{path}.categories_any[{index}]"), message);
            }
        }
        if let (Some(min), Some(max)) = (conditions.min_subjects, conditions.max_subjects)
            && min >= max
        {
            report.add(
                format!("{path}.min_subjects"),
                format!("`min_subjects` ({min}) must be below `max_subjects` ({max})"),
            );
        }
        self.ids(
            report,
            &format!("{path}.purposes_any"),
            &conditions.purposes_any,
            Kind::Purpose,
        );
        self.ids(
            report,
            &format!("{path}.protection_any"),
            &conditions.protection_any,
            Kind::Protection,
        );
        for (field, kind, attributes) in [
            ("exporter", Kind::ExporterAttribute, &conditions.exporter),
            ("importer", Kind::ImporterAttribute, &conditions.importer),
        ] {
            for attribute in attributes.keys() {
                if !self.vocabulary.contains(kind, attribute) {
                    report.add(
                        format!("{path}.{field}.{attribute}"),
                        format!("unknown {} `{attribute}`", kind.noun()),
                    );
                }
            }
        }
    }
}
