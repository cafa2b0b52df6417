//! Loading a rule directory (`vocabulary/`, `groups/`, `jurisdictions/`) into a validated
//! [`Library`], reporting every problem as `file:line:column: message`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::model::{CountryGroup, Entry, Library, RuleSet, VocabularyFile};

use super::positions::{Position, Positions};

/// One rule file's text with the name it is reported under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFile {
    /// Path relative to the rule directory, with `/` separators (`groups/asean.yaml`).
    pub path: String,
    /// The YAML text.
    pub text: String,
}

/// One problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleFileError {
    /// The file as reported (`deploy/rules/groups/asean.yaml`).
    pub file: String,
    /// Where in it.
    pub position: Position,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Position { line, column } = self.position;
        write!(f, "{}:{line}:{column}: {}", self.file, self.message)
    }
}

/// Why a rule directory could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The directory or a file in it could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The files have problems; every one is listed, sorted by file and position.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<RuleFileError>),
}

/// The three kinds of rule file, by directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Vocabulary,
    Group,
    RuleSet,
}

impl FileKind {
    const DIRECTORIES: [(&'static str, FileKind); 3] = [
        ("vocabulary", FileKind::Vocabulary),
        ("groups", FileKind::Group),
        ("jurisdictions", FileKind::RuleSet),
    ];

    fn of(path: &str) -> Option<(Self, &str)> {
        let (directory, name) = path.split_once('/')?;
        let stem = name
            .strip_suffix(".yaml")
            .or_else(|| name.strip_suffix(".yml"))?;
        let kind = Self::DIRECTORIES
            .iter()
            .find(|(dir, _)| *dir == directory)?
            .1;
        (!stem.contains('/')).then_some((kind, stem))
    }
}

/// Reads every `*.yaml` / `*.yml` file of a rule directory's three subdirectories.
pub fn read_dir(dir: &Path) -> Result<Vec<RuleFile>, LoadError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadError::Io { path, source }
    };
    std::fs::metadata(dir).map_err(io_error(dir))?;
    let mut files = Vec::new();
    for (directory, _) in FileKind::DIRECTORIES {
        let sub = dir.join(directory);
        if !sub.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&sub).map_err(io_error(&sub))? {
            let entry = entry.map_err(io_error(&sub))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                let text =
                    std::fs::read_to_string(entry.path()).map_err(io_error(&entry.path()))?;
                files.push(RuleFile {
                    path: format!("{directory}/{name}"),
                    text,
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Loads and validates a rule directory; errors name files as `dir/relative/path`.
pub fn load_dir(dir: &Path) -> Result<Library, LoadError> {
    let files = read_dir(dir)?;
    let prefix = dir.display().to_string();
    load(&files, prefix.trim_end_matches('/')).map_err(LoadError::Invalid)
}

/// A parsed document with the positions of its values.
struct Parsed {
    file: String,
    positions: Positions,
}

/// Parses and validates a set of rule files. `prefix` is prepended to each file's path in
/// error messages. Returns every problem, sorted by file and position.
pub fn load(files: &[RuleFile], prefix: &str) -> Result<Library, Vec<RuleFileError>> {
    let mut errors = Vec::new();
    let mut library = Library::default();
    let mut documents: BTreeMap<Entry, Parsed> = BTreeMap::new();
    let mut vocabulary_files: Vec<(Parsed, VocabularyFile)> = Vec::new();
    for file in files {
        let shown = if prefix.is_empty() {
            file.path.clone()
        } else {
            format!("{prefix}/{}", file.path)
        };
        let error = |position: Position, message: String| RuleFileError {
            file: shown.clone(),
            position,
            message,
        };
        let Some((kind, stem)) = FileKind::of(&file.path) else {
            errors.push(error(
                Position::START,
                "rule files live in vocabulary/, groups/ or jurisdictions/ and end in .yaml".into(),
            ));
            continue;
        };
        let parsed = Parsed {
            file: shown.clone(),
            positions: Positions::of(&file.text),
        };
        match kind {
            FileKind::Vocabulary => match parse::<VocabularyFile>(&file.text) {
                Ok(vocabulary) => {
                    for (section, id) in library.vocabulary.merge(&vocabulary) {
                        let path = format!("{}.{id}", section.section());
                        let first = vocabulary_files
                            .iter()
                            .find(|(_, earlier)| earlier.section(section).contains_key(&id))
                            .map_or_else(String::new, |(earlier, _)| {
                                format!(" (first in {})", earlier.file)
                            });
                        errors.push(error(
                            parsed.positions.find(&path),
                            format!("{} `{id}` is defined twice{first}", section.noun()),
                        ));
                    }
                    vocabulary_files.push((parsed, vocabulary));
                }
                Err(problem) => errors.push(error(problem.0, problem.1)),
            },
            FileKind::Group => match parse::<CountryGroup>(&file.text) {
                Ok(group) => {
                    if group.name != stem {
                        errors.push(error(
                            parsed.positions.find("name"),
                            format!(
                                "group `{}` must live in groups/{}.yaml",
                                group.name, group.name
                            ),
                        ));
                    }
                    documents.insert(Entry::Group(group.name.clone()), parsed);
                    library.groups.insert(group.name.clone(), group);
                }
                Err(problem) => errors.push(error(problem.0, problem.1)),
            },
            FileKind::RuleSet => match parse::<RuleSet>(&file.text) {
                Ok(rule_set) => {
                    if rule_set.jurisdiction != stem {
                        errors.push(error(
                            parsed.positions.find("jurisdiction"),
                            format!(
                                "rule set `{}` must live in jurisdictions/{}.yaml",
                                rule_set.jurisdiction, rule_set.jurisdiction
                            ),
                        ));
                    }
                    documents.insert(Entry::RuleSet(rule_set.jurisdiction.clone()), parsed);
                    library
                        .rule_sets
                        .insert(rule_set.jurisdiction.clone(), rule_set);
                }
                Err(problem) => errors.push(error(problem.0, problem.1)),
            },
        }
    }
    if vocabulary_files.is_empty() {
        errors.push(RuleFileError {
            file: if prefix.is_empty() {
                "vocabulary".into()
            } else {
                format!("{prefix}/vocabulary")
            },
            position: Position::START,
            message: "no vocabulary file: rules need vocabulary/*.yaml to define their ids".into(),
        });
    }
    for (entry, violation) in library.validate() {
        let parsed = match &entry {
            Entry::Vocabulary => vocabulary_files
                .iter()
                .find(|(parsed, _)| parsed.positions.has(&violation.path))
                .or(vocabulary_files.first())
                .map(|(parsed, _)| parsed),
            other => documents.get(other),
        };
        if let Some(parsed) = parsed {
            errors.push(RuleFileError {
                file: parsed.file.clone(),
                position: parsed.positions.find(&violation.path),
                message: violation.message,
            });
        }
    }
    if errors.is_empty() {
        Ok(library)
    } else {
        errors.sort();
        errors.dedup();
        Err(errors)
    }
}

/// Parses one rule-set file (as `xborder rules put` reads it); a syntax or type error is
/// reported at its position in `file`.
pub fn parse_rule_set(file: &str, text: &str) -> Result<RuleSet, RuleFileError> {
    parse_file(file, text)
}

/// Parses one country-group file (as `xborder groups put` reads it).
pub fn parse_group(file: &str, text: &str) -> Result<CountryGroup, RuleFileError> {
    parse_file(file, text)
}

fn parse_file<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, RuleFileError> {
    parse(text).map_err(|(position, message)| RuleFileError {
        file: file.to_owned(),
        position,
        message,
    })
}

/// Parses one document; on failure, the position and message of the syntax or type error.
fn parse<T: DeserializeOwned>(text: &str) -> Result<T, (Position, String)> {
    serde_saphyr::from_str(text).map_err(|error| {
        let position = error
            .location()
            .map_or(Position::START, |location| Position {
                line: location.line().max(1) as u32,
                column: location.column().max(1) as u32,
            });
        let message = error.without_snippet().to_string();
        // The position is already in the prefix; drop the parser's own copy of it.
        let message = match message.rfind(" at line ") {
            Some(cut) if message[cut..].contains(", column ") => message[..cut].to_owned(),
            _ => message,
        };
        (position, message)
    })
}
