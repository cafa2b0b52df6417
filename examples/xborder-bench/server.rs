//! The xborderd child process a benchmark runs against.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use tonic::transport::Channel;

/// The admin token every benchmark server accepts.
pub const TOKEN: &str = "bench-admin-token";

/// A running xborderd.
pub struct Server {
    pub child: Child,
    pub address: SocketAddr,
    _dir: TempDir,
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Server {
    /// Starts `binary` with `extra` flags; returns it and when it was spawned.
    pub fn start(binary: &Path, extra: &[&str]) -> (Self, Instant) {
        let dir = std::env::temp_dir().join(format!(
            "xborder-bench-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("token"), TOKEN).expect("token");
        let started = Instant::now();
        let mut child = Command::new(binary)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--max-watch-streams",
                "20000",
            ])
            .arg("--admin-token-file")
            .arg(dir.join("token"))
            .args(extra)
            .env("RUST_LOG", "warn,xborderd=info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("server logs its address")
                .expect("line");
            let record: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if record["fields"]["message"] == "serving" {
                break record["fields"]["address"]
                    .as_str()
                    .expect("address")
                    .parse()
                    .expect("address");
            }
        };
        std::thread::spawn(move || for _ in lines {});
        (
            Self {
                child,
                address,
                _dir: TempDir(dir),
            },
            started,
        )
    }

    /// A connection to it.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }

    /// Its resident memory.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A suffix unique enough for temporary names.
pub fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
