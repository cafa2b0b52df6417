//! Build steps that need no system tools:
//! - compiles `proto/xborder/v1/*.proto` with protox (no `protoc`) and generates the tonic
//!   services with `tonic-prost-build`, writing the file descriptor set for reflection;
//! - embeds the rule library (`deploy/rules/{vocabulary,groups,jurisdictions}/*.yaml`), so
//!   `xborderd` runs with its built-in rules and no files on disk.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prost::Message as _;

const PROTOS: [&str; 3] = [
    "proto/xborder/v1/assessment.proto",
    "proto/xborder/v1/rules.proto",
    "proto/xborder/v1/watch.proto",
];

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    compile_protos(&out);
    embed_rules(&out);
}

fn compile_protos(out: &Path) {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors =
        protox::compile(PROTOS, ["proto"]).unwrap_or_else(|error| panic!("{error:?}"));
    let set_path = out.join("xborder_descriptor.bin");
    if let Err(error) = std::fs::write(&set_path, descriptors.encode_to_vec()) {
        panic!("cannot write {}: {error}", set_path.display());
    }
    if let Err(error) = tonic_prost_build::configure().compile_fds(descriptors) {
        panic!("cannot generate gRPC code: {error}");
    }
}

fn embed_rules(out: &Path) {
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
    let path = out.join("embedded_rules.rs");
    if let Err(error) = std::fs::write(&path, code) {
        panic!("cannot write {}: {error}", path.display());
    }
}
