//! A child `xborderd` process on an ephemeral port.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStderr, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;

/// Starts `xborderd` with `args` (plus `--listen 127.0.0.1:0 --log-format json`) and waits
/// for its "serving" log line; returns the child, its address and the log lines read so far
/// together with the rest of its stderr.
pub fn spawn_xborderd(
    args: &[&std::ffi::OsStr],
) -> (
    Child,
    SocketAddr,
    Vec<String>,
    std::io::Lines<BufReader<ChildStderr>>,
) {
    let mut child = Command::cargo_bin("xborderd")
        .expect("xborderd binary")
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start xborderd");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut log = Vec::new();
    let address = loop {
        let line = lines
            .next()
            .expect("xborderd logs its address")
            .expect("log line");
        let record: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        log.push(line);
        if record["fields"]["message"] == "serving" {
            break record["fields"]["address"]
                .as_str()
                .expect("address")
                .parse()
                .expect("socket address");
        }
    };
    (child, address, log, lines)
}

/// A gRPC connection to a server process at `address`.
pub async fn connect(address: SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}
