//! Embeds the rule library (`deploy/rules/{vocabulary,groups,jurisdictions}/*.yaml`) into
//! the binary, so `xborderd` runs with its built-in rules and no files on disk.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/rules");
    let mut entries = Vec::new();
    for directory in ["vocabulary", "groups", "jurisdictions"] {
        let dir = root.join(directory);
        println!("cargo:rerun-if-changed={}", dir.display());
        let Ok(listing) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in listing.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                println!("cargo:rerun-if-changed={}", entry.path().display());
                entries.push((format!("{directory}/{name}"), entry.path()));
            }
        }
    }
    entries.sort();
    let mut code = String::from("[\n");
    for (relative, path) in &entries {
        writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .ok();
    }
    code.push(']');
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("embedded_rules.rs");
    if let Err(error) = std::fs::write(&out, code) {
        panic!("cannot write {}: {error}", out.display());
    }
}
