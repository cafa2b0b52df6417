//! The real `xborder` binary against a real `xborderd` on an ephemeral port: each command,
//! each exit status, JSON output parsed, and a watch that survives a dropped connection.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

const TOKEN: &str = "cli-test-admin-token";

/// A child `xborderd` on an ephemeral port, killed on drop.
struct Server {
    child: Child,
    address: SocketAddr,
    dir: PathBuf,
}

impl Server {
    fn start(name: &str) -> Self {
        Self::start_with(name, &[])
    }

    /// A server keeping its store in `data` (so a restart continues from the same revision).
    fn start_with_data(name: &str, data: &Path) -> Self {
        Self::start_with(
            name,
            &[
                "--data-dir".as_ref(),
                data.as_os_str(),
                "--drain-delay".as_ref(),
                "0s".as_ref(),
                "--close-timeout".as_ref(),
                "0s".as_ref(),
            ],
        )
    }

    /// A server with the admin token, fast heartbeats and `extra` flags.
    fn start_with(name: &str, extra: &[&std::ffi::OsStr]) -> Self {
        let dir = std::env::temp_dir().join(format!("xborder-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let token = dir.join("token");
        std::fs::write(&token, format!("{TOKEN}\n")).expect("token file");
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "--progress-interval".as_ref(),
            "200ms".as_ref(),
            "--admin-token-file".as_ref(),
            token.as_os_str(),
        ];
        args.extend_from_slice(extra);
        let (child, address, _, lines) = common::process::spawn_xborderd(&args);
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            address,
            dir,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    fn cli(&self) -> Command {
        let mut command = Command::cargo_bin("xborder").expect("xborder binary");
        command
            .env("XBORDER_ENDPOINT", self.endpoint())
            .env("NO_COLOR", "1");
        command
    }

    fn admin(&self) -> Command {
        let mut command = self.cli();
        command.env("XBORDER_TOKEN_FILE", self.dir.join("token"));
        command
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().expect("run xborder");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

#[test]
fn assess_exit_status_tells_the_decision() {
    let server = Server::start("assess");
    let assess = |extra: &[&str]| {
        let mut command = server.cli();
        command.arg("assess").args(extra);
        run(&mut command)
    };
    let (code, out, _) = assess(&[
        "--from",
        "CN",
        "--to",
        "US",
        "--category",
        "user.contact",
        "--subjects",
        "500000",
    ]);
    assert_eq!(code, 10, "{out}");
    assert!(out.contains("Decision:  CONDITIONAL"), "{out}");
    assert!(
        out.contains("cn_standard_contract, cn_pi_certification, cn_security_assessment"),
        "{out}"
    );

    let (code, _, _) = assess(&[
        "--from",
        "CN",
        "--to",
        "US",
        "--category",
        "user.contact",
        "--subjects",
        "500000",
        "--safeguard",
        "cn_standard_contract",
    ]);
    assert_eq!(code, 0);
    let (code, out, _) = assess(&[
        "--from",
        "AR",
        "--to",
        "US",
        "--category",
        "user.contact",
        "--subjects",
        "10",
    ]);
    assert_eq!(code, 11, "no regime for Argentina: {out}");
    let (code, out, err) = assess(&["--from", "CN", "--to", "US", "--category", "user.contact"]);
    assert_eq!(
        code, 2,
        "personal data without a count is a usage error: {out}"
    );
    assert!(
        err.contains("--subjects is required for personal data"),
        "{err}"
    );
    let (code, out, _) = assess(&[
        "--from",
        "US",
        "--to",
        "CN",
        "--category",
        "user.health_and_medical.genetic",
        "--subjects",
        "5000",
    ]);
    assert_eq!(code, 12, "bulk genomic data to a country of concern: {out}");

    let (code, out, err) = assess(&[
        "--from",
        "CN",
        "--to",
        "US",
        "--category",
        "user.shoe_size",
        "--subjects",
        "1",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("error: INVALID_ARGUMENT: invalid flow"),
        "{err}"
    );
    assert!(
        err.contains("  flow.data_categories[0]: unknown data category `user.shoe_size`"),
        "{err}"
    );

    let (code, out, _) = run(server.cli().args([
        "--output",
        "json",
        "assess",
        "--from",
        "CN",
        "--via",
        "HK",
        "--to",
        "US",
        "--category",
        "user.contact",
        "--subjects",
        "500000",
        "--explain",
    ]));
    assert_eq!(code, 10);
    let answer = json(&out);
    // The canonical protobuf JSON mapping: lowerCamelCase, enum names, 64-bit as strings.
    assert_eq!(answer["decision"], "DECISION_CONDITIONAL");
    assert_eq!(answer["revision"], "1");
    assert!(answer["storeId"].as_str().is_some_and(|id| id.len() == 26));
    assert!(
        answer["unmetRequirements"]
            .as_array()
            .is_some_and(|u| !u.is_empty())
    );
    assert!(
        answer["matchedRules"].as_array().is_some_and(|m| m
            .iter()
            .any(|r| r["leg"] == serde_json::json!({"from": "CN", "to": "US", "onward": true}))),
        "{answer}"
    );
    assert!(answer["trace"].as_array().is_some_and(|t| !t.is_empty()));

    let (code, _, err) = run(server.cli().args(["assess", "--from", "CN", "--to", "US"]));
    assert_eq!(code, 2, "usage error: {err}");
}

#[test]
fn assess_file_streams_one_json_answer_per_line() {
    let server = Server::start("file");
    let flows = server.file(
        "flows.jsonl",
        concat!(
            r#"{"requestId":"a","flow":{"origin":"CN","destination":"US","dataCategories":["user.contact"],"dataSubjectCount":"5"}}"#,
            "\n",
            r#"{"request_id":"b","flow":{"origin":"CN","destination":"US","data_categories":["user.contact"],"data_subject_count":500000}}"#,
            "\n\n",
            r#"{"flow":{"origin":"FR","destination":"DE","dataCategories":["user.contact"],"dataSubjectCount":3}}"#,
            "\n"
        ),
    );
    let (code, out, _) = run(server.cli().args(["assess", "--file"]).arg(&flows));
    assert_eq!(code, 10, "the most severe decision: {out}");
    let answers: Vec<Value> = out.lines().map(json).collect();
    let summary: Vec<(String, String)> = answers
        .iter()
        .map(|a| {
            (
                a["requestId"].as_str().unwrap_or("").to_owned(),
                a["assessment"]["decision"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("a".to_owned(), "DECISION_PERMITTED".to_owned()),
            ("b".to_owned(), "DECISION_CONDITIONAL".to_owned()),
            ("line-4".to_owned(), "DECISION_PERMITTED".to_owned())
        ]
    );

    let bad = server.file(
        "bad.jsonl",
        r#"{"requestId":"x","flow":{"origin":"CN","destination":"ZZ","dataCategories":["user.contact"],"dataSubjectCount":"1"}}"#,
    );
    let (code, out, _) = run(server.cli().args(["assess", "--file"]).arg(&bad));
    assert_eq!(code, 1);
    let answer = json(&out);
    assert_eq!(answer["error"]["code"], 3, "INVALID_ARGUMENT");
    assert_eq!(
        answer["error"]["fieldViolations"][0]["field"],
        "flow.destination"
    );
    let old_shape = server.file(
        "old.jsonl",
        r#"{"origin":"CN","destination":"US","data_categories":["user.contact"]}"#,
    );
    let (code, _, err) = run(server.cli().args(["assess", "--file"]).arg(&old_shape));
    assert_eq!(code, 1, "a line that is not an AssessFlowRequest: {err}");
    assert!(err.contains("old.jsonl:1:"), "{err}");
}

fn sg_file(server: &Server, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/rules/jurisdictions/SG.yaml"),
    )
    .expect("SG rules");
    let renamed = text.replacen("\nname: ", &format!("\nname: {name} — "), 1);
    server.file(&format!("{name}.yaml"), &renamed)
}

#[test]
fn rules_and_groups_commands_read_and_write() {
    let server = Server::start("rules");
    let (code, out, _) = run(server.cli().args(["--output", "json", "rules", "list"]));
    assert_eq!(code, 0);
    let list = json(&out);
    assert_eq!(list["revision"], "1");
    assert!(list["ruleSets"].as_array().is_some_and(|r| r.len() >= 18));

    let (code, out, _) = run(server.cli().args(["rules", "list"]));
    assert_eq!(code, 0);
    assert!(out.contains("Jurisdiction") && out.contains("SG"), "{out}");

    let (code, out, _) = run(server.cli().args(["rules", "get", "CN"]));
    assert_eq!(code, 0);
    assert!(out.starts_with("# version 1 at revision 1\n"), "{out}");
    let yaml = out
        .split_once('\n')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let parsed =
        xborder::rules_io::parse_rule_set("cn.yaml", yaml).expect("get prints what put reads");
    assert_eq!(parsed.jurisdiction, "CN");

    // Writes need the token.
    let first = sg_file(&server, "first");
    let (code, _, err) = run(server.cli().args(["rules", "put"]).arg(&first));
    assert_eq!(code, 1);
    assert!(err.contains("UNAUTHENTICATED"), "{err}");

    let (code, out, _) = run(server
        .admin()
        .args(["--output", "json", "rules", "put", "--dry-run"])
        .arg(&first));
    assert_eq!(code, 0);
    let dry = json(&out);
    assert_eq!(
        (
            dry.get("committed"),
            dry["version"].as_str(),
            dry["revision"].as_str()
        ),
        (None, Some("2"), Some("1")),
        "a dry run is not committed (false is the default, so it is omitted)"
    );

    let (code, out, _) = run(server.admin().args(["rules", "put"]).arg(&first));
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().next(),
        Some("rule set SG: version 2 at revision 2 (committed)")
    );

    let (code, _, err) = run(server
        .admin()
        .args(["rules", "put", "--expected-version", "1"])
        .arg(&first));
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "ABORTED: version conflict on rule set SG: expected version 1, current version is 2"
        ),
        "{err}"
    );

    let broken_text = std::fs::read_to_string(&first).expect("file").replacen(
        "any_of: [",
        "any_of: [handshake, ",
        1,
    );
    let broken = server.file("broken.yaml", &broken_text);
    let (code, _, err) = run(server.admin().args(["rules", "put"]).arg(&broken));
    assert_eq!(code, 1);
    let line = broken_text
        .lines()
        .position(|l| l.contains("handshake"))
        .expect("line")
        + 1;
    assert!(
        err.contains(&format!("broken.yaml:{line}:"))
            && err.contains("unknown mechanism `handshake`"),
        "violations point into the file: {err}"
    );

    let (code, out, _) = run(server
        .cli()
        .args(["--output", "json", "rules", "history", "SG"]));
    assert_eq!(code, 0);
    let history = &json(&out)["versions"];
    assert_eq!(
        history[0].get("kind"),
        None,
        "the loaded library has no change kind"
    );
    assert_eq!(
        (history[1]["version"].as_str(), history[1]["kind"].as_str()),
        (Some("2"), Some("CHANGE_KIND_UPDATED"))
    );

    let (code, out, _) =
        run(server
            .cli()
            .args(["--output", "json", "rules", "get", "SG", "--version", "1"]));
    assert_eq!(code, 0);
    assert_eq!(json(&out)["ruleSet"]["jurisdiction"], "SG");

    let (code, _, err) = run(server.cli().args(["rules", "get", "ZZ"]));
    assert_eq!(code, 1);
    assert!(err.contains("NOT_FOUND: rule set ZZ not found"), "{err}");

    let (code, out, _) =
        run(server
            .admin()
            .args(["rules", "delete", "SG", "--expected-version", "2"]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("rule set SG deleted: version 2 at revision 3"),
        "{out}"
    );

    let (code, out, _) = run(server.cli().args(["--output", "json", "groups", "list"]));
    assert_eq!(code, 0);
    assert!(
        json(&out)["groups"]
            .as_array()
            .is_some_and(|g| g.iter().any(|g| g["group"]["name"] == "asean"))
    );
    let (code, out, _) = run(server.cli().args(["groups", "get", "asean"]));
    assert_eq!(code, 0);
    let yaml = out
        .split_once('\n')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let group = xborder::rules_io::parse_group("asean.yaml", yaml).expect("group YAML");
    let mut members = group.members.clone();
    members.push("TL".into());
    let group_file = server.file(
        "asean.yaml",
        &format!("name: asean\nmembers: [{}]\n", members.join(", ")),
    );
    let (code, out, _) = run(server
        .admin()
        .args(["--output", "json", "groups", "put"])
        .arg(&group_file));
    assert_eq!(code, 0, "{out}");
    let written = json(&out);
    assert_eq!(written["diff"]["added"], serde_json::json!(["TL"]));
    assert_eq!(written["revision"], "4");
}

/// A TCP proxy whose connections can be cut, to drop a client's connection mid-stream.
struct Proxy {
    address: SocketAddr,
    cut: Arc<AtomicBool>,
    target: Arc<std::sync::Mutex<SocketAddr>>,
}

impl Proxy {
    fn start(target: SocketAddr) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let cut = Arc::new(AtomicBool::new(false));
        let cut_flag = Arc::clone(&cut);
        let target = Arc::new(std::sync::Mutex::new(target));
        let current_target = Arc::clone(&target);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if cut_flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = *current_target.lock().expect("target");
                let Ok(server) = std::net::TcpStream::connect(target) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (server, client),
                ] {
                    let flag = Arc::clone(&cut_flag);
                    std::thread::spawn(move || {
                        let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
                        let mut buffer = [0u8; 16 * 1024];
                        loop {
                            if flag.load(Ordering::SeqCst) {
                                let _ = from.shutdown(std::net::Shutdown::Both);
                                let _ = to.shutdown(std::net::Shutdown::Both);
                                return;
                            }
                            match std::io::Read::read(&mut from, &mut buffer) {
                                Ok(0) => {
                                    let _ = to.shutdown(std::net::Shutdown::Both);
                                    return;
                                }
                                Ok(n) => {
                                    if std::io::Write::write_all(&mut to, &buffer[..n]).is_err() {
                                        return;
                                    }
                                }
                                Err(error)
                                    if matches!(
                                        error.kind(),
                                        std::io::ErrorKind::WouldBlock
                                            | std::io::ErrorKind::TimedOut
                                    ) => {}
                                Err(_) => {
                                    let _ = to.shutdown(std::net::Shutdown::Both);
                                    return;
                                }
                            }
                        }
                    });
                }
            }
        });
        Self {
            address,
            cut,
            target,
        }
    }

    /// Sends new connections to `target` from now on.
    fn retarget(&self, target: SocketAddr) {
        *self.target.lock().expect("target") = target;
    }
}

/// Starts `xborder --output json watch --progress` against `endpoint`; its output lines
/// arrive parsed on the channel.
fn spawn_watch(endpoint: SocketAddr) -> (std::process::Child, mpsc::Receiver<Value>) {
    let mut watcher = Command::cargo_bin("xborder")
        .expect("xborder binary")
        .args([
            "--endpoint",
            &format!("http://{endpoint}"),
            "--output",
            "json",
            "watch",
            "--progress",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start watch");
    let stdout = watcher.stdout.take().expect("stdout");
    let (lines_tx, lines) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(json(&line)).is_err() {
                return;
            }
        }
    });
    (watcher, lines)
}

/// A watch message's revision (a string in the protobuf JSON mapping).
fn revision(event: &Value) -> u64 {
    event["revision"]
        .as_str()
        .and_then(|revision| revision.parse().ok())
        .unwrap_or_else(|| panic!("no revision in {event}"))
}

/// The next change event the watch prints, skipping PROGRESS lines.
fn next_change(lines: &mpsc::Receiver<Value>) -> Value {
    loop {
        let event = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("watch prints in time");
        if event["kind"] != "CHANGE_KIND_PROGRESS" {
            return event;
        }
    }
}

#[test]
fn watch_survives_a_dropped_connection_without_missing_or_repeating_events() {
    let server = Server::start("watch");
    let proxy = Proxy::start(server.address);
    let (mut watcher, lines) = spawn_watch(proxy.address);
    let first = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("first progress");
    assert_eq!(first["kind"], "CHANGE_KIND_PROGRESS");

    let put = |name: &str| {
        let (code, out, err) = run(server
            .admin()
            .args(["rules", "put"])
            .arg(sg_file(&server, name)));
        assert_eq!(code, 0, "{out}{err}");
    };
    let mut revisions = Vec::new();
    for name in ["one", "two"] {
        put(name);
        revisions.push(revision(&next_change(&lines)));
    }

    // Cut the connection and keep it down while two more changes are committed.
    proxy.cut.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    put("three");
    put("four");
    proxy.cut.store(false, Ordering::SeqCst);
    put("five");
    for _ in 0..3 {
        revisions.push(revision(&next_change(&lines)));
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    assert_eq!(
        revisions,
        [2, 3, 4, 5, 6],
        "no event missed or repeated across the reconnect"
    );
}

#[test]
fn watch_survives_a_server_restart_with_the_same_data() {
    let data =
        std::env::temp_dir().join(format!("xborder-cli-restart-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let server = Server::start_with_data("restart-a", &data);
    let proxy = Proxy::start(server.address);
    let (mut watcher, lines) = spawn_watch(proxy.address);
    let next_revision = |lines: &mpsc::Receiver<Value>| revision(&next_change(lines));
    assert_eq!(
        lines
            .recv_timeout(Duration::from_secs(20))
            .expect("progress")["kind"],
        "CHANGE_KIND_PROGRESS"
    );
    let put = |server: &Server, name: &str| {
        let (code, out, err) = run(server
            .admin()
            .args(["rules", "put"])
            .arg(sg_file(server, name)));
        assert_eq!(code, 0, "{out}{err}");
    };
    put(&server, "one");
    put(&server, "two");
    let mut revisions = vec![next_revision(&lines), next_revision(&lines)];

    // Stop the server; restart it on the same data (a new port behind the same endpoint),
    // and commit while the watcher is still reconnecting.
    proxy.cut.store(true, Ordering::SeqCst);
    drop(server);
    let server = Server::start_with_data("restart-b", &data);
    put(&server, "three");
    put(&server, "four");
    proxy.retarget(server.address);
    proxy.cut.store(false, Ordering::SeqCst);
    put(&server, "five");
    for _ in 0..3 {
        revisions.push(next_revision(&lines));
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    assert_eq!(
        revisions,
        [2, 3, 4, 5, 6],
        "no event missed or repeated across the server restart"
    );
}

#[test]
fn watch_stops_with_a_clear_message_when_an_in_memory_server_restarts_with_a_new_history() {
    let server = Server::start("new-history-a");
    let proxy = Proxy::start(server.address);
    let (mut watcher, lines) = spawn_watch(proxy.address);
    let first = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("progress");
    let store_id = first["storeId"].as_str().expect("store id").to_owned();
    let (code, out, err) = run(server
        .admin()
        .args(["rules", "put"])
        .arg(sg_file(&server, "one")));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(revision(&next_change(&lines)), 2);

    // An in-memory server restarts at revision 1 with a new store: resuming from 3 there
    // would silently follow another history.
    proxy.cut.store(true, Ordering::SeqCst);
    drop(server);
    let server = Server::start("new-history-b");
    for name in ["two", "three"] {
        let (code, out, err) = run(server
            .admin()
            .args(["rules", "put"])
            .arg(sg_file(&server, name)));
        assert_eq!(code, 0, "{out}{err}");
    }
    proxy.retarget(server.address);
    proxy.cut.store(false, Ordering::SeqCst);
    let mut stderr = String::new();
    let status = loop {
        if let Some(status) = watcher.try_wait().expect("watcher") {
            break status;
        }
        assert!(
            lines
                .try_recv()
                .map_or(true, |event| event["kind"] == "CHANGE_KIND_PROGRESS"),
            "no event of the new history is printed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Some(mut pipe) = watcher.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("the server's store is no longer {store_id}")),
        "{stderr}"
    );
}

#[test]
fn unary_calls_time_out_and_https_is_refused_before_any_connection() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = silent.local_addr().expect("address");
    let started = std::time::Instant::now();
    let (code, _, err) = run(Command::cargo_bin("xborder")
        .expect("xborder binary")
        .args([
            "--endpoint",
            &format!("http://{address}"),
            "--timeout",
            "500ms",
        ])
        .args(["rules", "list"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error:"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a server that never answers does not hold the CLI: {:?}",
        started.elapsed()
    );

    let untouched = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = untouched.local_addr().expect("address");
    untouched.set_nonblocking(true).expect("nonblocking");
    let (code, _, err) = run(Command::cargo_bin("xborder")
        .expect("xborder binary")
        .args(["--endpoint", &format!("https://{address}"), "rules", "list"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not speak TLS yet"), "{err}");
    assert!(
        untouched.accept().is_err(),
        "nothing was sent to the https endpoint"
    );
}

#[test]
fn tables_fit_an_80_column_terminal_and_completions_are_printed() {
    let server = Server::start("width");
    let (code, out, _) = run(server.cli().env("COLUMNS", "80").args([
        "assess",
        "--from",
        "CN",
        "--to",
        "US",
        "--category",
        "user.contact",
        "--subjects",
        "500000",
    ]));
    assert_eq!(code, 10, "{out}");
    let table_lines: Vec<&str> = out
        .lines()
        .filter(|line| line.starts_with(['┌', '│', '└']))
        .collect();
    assert!(!table_lines.is_empty(), "{out}");
    for line in table_lines {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(server.cli().args(["completions", shell]));
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("rules") && out.contains("watch"),
            "{shell}: {out}"
        );
    }
}
