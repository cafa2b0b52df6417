//! Loading and validating YAML rule files, with `file:line:column` errors.
//!
//! The rule library in `deploy/rules/` is embedded in the binary ([`embedded`]); any other
//! directory loads with [`load_dir`].

mod load;
mod positions;

pub use load::{
    LoadError, RuleFile, RuleFileError, load, load_dir, parse_group, parse_rule_set, read_dir,
};
pub use positions::{Position, Positions};

use crate::model::Library;

/// The rule files of `deploy/rules/`, embedded at build time.
pub fn embedded_files() -> Vec<RuleFile> {
    include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"))
        .iter()
        .map(|(path, text)| RuleFile {
            path: (*path).to_owned(),
            text: (*text).to_owned(),
        })
        .collect()
}

/// The embedded rule library, validated. Its files are checked by the test suite, so an
/// error here means the binary was built from a broken library.
pub fn embedded() -> Result<Library, LoadError> {
    load(&embedded_files(), "deploy/rules").map_err(LoadError::Invalid)
}
