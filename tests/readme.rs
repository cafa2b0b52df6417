//! Every command line of README.md, run as a newcomer would paste it, against a real
//! `xborderd` started the way the README starts it (on a free port instead of 50051), with
//! the exit status the README gives (`# exit N`, or the `$ echo $?` line after a console
//! command; 0 otherwise).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

/// One command of the README, with what the README says it does.
#[derive(Debug)]
struct Line {
    text: String,
    exit: i32,
    runs_until_interrupted: bool,
}

/// The commands of the README's ```sh and ```console blocks, in order.
fn commands(readme: &str) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    let mut block = None;
    let mut expect_status = false;
    for raw in readme.lines() {
        let trimmed = raw.trim();
        if let Some(kind) = trimmed.strip_prefix("```") {
            block = if block.is_none() {
                Some(kind.to_owned())
            } else {
                None
            };
            continue;
        }
        let command = match block.as_deref() {
            Some("sh") if !trimmed.is_empty() && !trimmed.starts_with('#') => trimmed,
            Some("console") => {
                if expect_status {
                    expect_status = false;
                    if let (Some(last), Ok(status)) = (lines.last_mut(), trimmed.parse()) {
                        last.exit = status;
                    }
                    continue;
                }
                match trimmed.strip_prefix("$ ") {
                    Some("echo $?") => {
                        expect_status = true;
                        continue;
                    }
                    Some(command) => command,
                    None => continue,
                }
            }
            _ => continue,
        };
        let (text, comment) = command.split_once("   #").unwrap_or((command, ""));
        let exit = comment
            .trim()
            .strip_prefix("exit ")
            .and_then(|status| status.parse().ok())
            .unwrap_or(0);
        lines.push(Line {
            text: text.trim().to_owned(),
            exit,
            runs_until_interrupted: comment.contains("runs until Ctrl-C"),
        });
    }
    lines
}

struct Workspace {
    dir: PathBuf,
    server: Option<(Child, String)>,
    path: String,
}

impl Workspace {
    fn shell(&self, text: &str) -> Command {
        let endpoint = self
            .server
            .as_ref()
            .map(|(_, e)| e.clone())
            .unwrap_or_default();
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(text.replace("http://127.0.0.1:50051", &endpoint))
            .current_dir(&self.dir)
            .env("PATH", &self.path)
            .env("XBORDER_ENDPOINT", &endpoint)
            .env("NO_COLOR", "1")
            .env_remove("XBORDER_TOKEN_FILE");
        command
    }

    /// `cargo run --release --bin xborderd -- ARGS`: the server, restarted with ARGS.
    fn start_server(&mut self, args: &str) {
        self.stop_server();
        let args: Vec<std::ffi::OsString> = args.split_whitespace().map(Into::into).collect();
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|arg| arg.as_os_str()).collect();
        let here = std::env::current_dir().expect("cwd");
        std::env::set_current_dir(&self.dir).expect("into the workspace");
        let (child, address, _, lines) = common::process::spawn_xborderd(&args);
        std::env::set_current_dir(here).expect("back");
        std::thread::spawn(move || for _ in lines {});
        self.server = Some((child, format!("http://{address}")));
    }

    fn stop_server(&mut self) {
        if let Some((mut child, _)) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        self.stop_server();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bin_dir() -> PathBuf {
    let xborder = Command::cargo_bin("xborder").expect("xborder binary");
    Path::new(xborder.get_program())
        .parent()
        .expect("binary directory")
        .to_path_buf()
}

#[test]
fn every_readme_command_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let lines = commands(&readme);
    assert!(lines.len() >= 20, "{lines:#?}");
    let dir = std::env::temp_dir().join(format!("xborder-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("workspace");
    for linked in ["deploy", "examples", "tests"] {
        std::os::unix::fs::symlink(root.join(linked), dir.join(linked)).expect("link");
    }
    let buf = root.join("target/ci-tools/node_modules/.bin");
    let path = format!(
        "{}:{}:{}",
        bin_dir().display(),
        buf.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let has_buf = buf.join("buf").exists();
    let mut workspace = Workspace {
        dir,
        server: None,
        path,
    };
    let mut ran = 0;
    for line in &lines {
        let text = line.text.as_str();
        if text.starts_with("cargo test")
            || text.starts_with("cargo build")
            || text.starts_with("export PATH=")
        {
            continue; // this test itself; the build; the PATH the test already set
        }
        if let Some(rest) = text.strip_prefix("cargo run --release --bin xborderd") {
            workspace.start_server(rest.strip_prefix(" -- ").unwrap_or(rest));
            continue;
        }
        let text = text
            .replace("cargo run --bin xborderd --", "xborderd")
            .replace("bash .ci/run", "true");
        if text.starts_with("buf ") && !has_buf {
            eprintln!("buf is not installed (bash .ci/run installs it): not running `{text}`");
            continue;
        }
        if line.runs_until_interrupted {
            // `exec`: the watch itself is the child, so killing it closes its output.
            let mut child = workspace
                .shell(&format!("exec {text}"))
                .stdout(Stdio::piped())
                .spawn()
                .expect("start");
            std::thread::sleep(Duration::from_secs(2));
            assert!(
                child.try_wait().expect("status").is_none(),
                "`{text}` keeps running"
            );
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            assert!(!output.stdout.is_empty(), "`{text}` printed nothing");
            ran += 1;
            continue;
        }
        let output = workspace.shell(&text).output().expect("run");
        assert_eq!(
            output.status.code(),
            Some(line.exit),
            "`{text}`\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 18, "ran {ran} commands");
}
