//! Real etcd members for tests: started on free loopback ports in a temporary directory
//! (Debian's `etcd-server`, no system service), stopped on drop.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (closed again, so a child can take it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A cluster of etcd members on loopback.
pub struct Etcd {
    members: Vec<Member>,
    dir: PathBuf,
}

struct Member {
    child: Option<Child>,
    client: u16,
    args: Vec<String>,
}

fn spawn(args: &[String]) -> Child {
    Command::new("etcd")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start etcd (Debian package etcd-server)")
}

impl Etcd {
    /// Starts `size` members as one cluster and waits until every one serves clients.
    pub fn start(name: &str, size: usize) -> Self {
        let dir = std::env::temp_dir().join(format!("xborder-etcd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("etcd dir");
        let ports: Vec<(u16, u16)> = (0..size).map(|_| (free_port(), free_port())).collect();
        let cluster = ports
            .iter()
            .enumerate()
            .map(|(index, (_, peer))| format!("m{index}=http://127.0.0.1:{peer}"))
            .collect::<Vec<_>>()
            .join(",");
        let members = ports
            .iter()
            .enumerate()
            .map(|(index, (client, peer))| {
                let url = |port: &u16| format!("http://127.0.0.1:{port}");
                let args: Vec<String> = vec![
                    "--name".into(),
                    format!("m{index}"),
                    "--data-dir".into(),
                    dir.join(format!("m{index}")).display().to_string(),
                    "--listen-client-urls".into(),
                    url(client),
                    "--advertise-client-urls".into(),
                    url(client),
                    "--listen-peer-urls".into(),
                    url(peer),
                    "--initial-advertise-peer-urls".into(),
                    url(peer),
                    "--initial-cluster".into(),
                    cluster.clone(),
                    "--initial-cluster-state".into(),
                    "new".into(),
                ];
                let child = spawn(&args);
                Member {
                    child: Some(child),
                    client: *client,
                    args,
                }
            })
            .collect();
        let etcd = Self { members, dir };
        for member in &etcd.members {
            wait_for(member.client);
        }
        etcd
    }

    /// The client URL of member `index`.
    pub fn endpoint(&self, index: usize) -> String {
        format!("http://127.0.0.1:{}", self.members[index].client)
    }

    /// Kills member `index` (SIGKILL).
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.members[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `index` again on its data and ports, and waits until it serves.
    pub fn restart(&mut self, index: usize) {
        self.kill(index);
        let member = &mut self.members[index];
        member.child = Some(spawn(&member.args));
        wait_for(member.client);
    }

    /// The client URLs, comma-separated, as `--etcd-endpoints` takes them.
    pub fn endpoints(&self) -> String {
        self.members
            .iter()
            .map(|member| format!("http://127.0.0.1:{}", member.client))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn wait_for(port: u16) {
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "etcd on {port} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for member in &mut self.members {
            if let Some(mut child) = member.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
