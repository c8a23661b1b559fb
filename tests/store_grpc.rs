//! `tvix store daemon` on loopback and `--store grpc+http://...` clients of it: the
//! same store paths, NARs and answers as a local store (and as C++ Nix where it is
//! installed), a local cache that fills as paths are read and then works alone, and
//! a daemon that keeps serving after bad requests.

mod store_common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use store_common::{have, run, tvix_at, tvix_at_ok, tvix_ok};

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// A `tvix store daemon` child process, killed when dropped.
struct Daemon {
    child: Child,
    addr: String,
}

impl Daemon {
    fn start(store_url: &str) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tvix"))
            .args([
                "store",
                "--store",
                store_url,
                "daemon",
                "--listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tvix store daemon");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("daemon said {line:?}"))
            .to_owned();
        Daemon { child, addr }
    }

    fn url(&self) -> String {
        format!("grpc+http://{}", self.addr)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn client_of_a_daemon_matches_a_local_store() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    store_common::awkward_tree(&tree);
    let daemon = Daemon::start(&format!("redb://{}", tmp.path().join("served").display()));
    let url = daemon.url();

    // Import through the daemon and locally: the same store path.
    let remote = String::from_utf8(tvix_at_ok(&url, &[os("import"), tree.as_os_str()])).unwrap();
    let local_store = tmp.path().join("local");
    let local =
        String::from_utf8(tvix_ok(&local_store, &[os("import"), tree.as_os_str()])).unwrap();
    assert_eq!(remote, local);
    let path = remote.trim();

    // Read back through the daemon: the same NAR, listing, file and info.
    let nar = tvix_at_ok(&url, &[os("export-nar"), os(path)]);
    assert_eq!(nar, tvix_ok(&local_store, &[os("export-nar"), os(path)]));
    if have(
        "nix-store",
        "client_of_a_daemon_matches_a_local_store (vs nix-store --dump)",
    ) {
        let dump = run(Command::new("nix-store").arg("--dump").arg(&tree));
        assert!(nar == dump, "NAR via gRPC differs from nix-store --dump");
    }
    let listed = String::from_utf8(tvix_at_ok(&url, &[os("ls")])).unwrap();
    assert_eq!(listed.trim(), path);
    let ls = tvix_at_ok(&url, &[os("ls"), os(path)]);
    assert_eq!(ls, tvix_ok(&local_store, &[os("ls"), os(path)]));
    let big = tvix_at_ok(&url, &[os("cat"), os(&format!("{path}/big.bin"))]);
    assert_eq!(big, std::fs::read(tree.join("big.bin")).unwrap());
    let info = tvix_at_ok(&url, &[os("info"), os(path)]);
    assert_eq!(info, tvix_ok(&local_store, &[os("info"), os(path)]));
    assert!(String::from_utf8_lossy(&info).contains(&format!("NarSize: {}", nar.len())));
    let verify = String::from_utf8(tvix_at_ok(&url, &[os("verify")])).unwrap();
    assert!(verify.ends_with(": 0 problems\n"), "{verify}");

    // Errors from the server are errors here, and the daemon goes on serving.
    let missing = tvix_at(&url, &[os("cat"), os(&format!("{path}/nope"))]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
    // Not HTTP/2 at all.
    let mut raw = std::net::TcpStream::connect(&daemon.addr).unwrap();
    raw.write_all(b"GET / HTTP/1.0\r\n\r\n\x00\xff garbage")
        .unwrap();
    drop(raw);
    assert_eq!(tvix_at_ok(&url, &[os("export-nar"), os(path)]), nar);
}

#[test]
fn cache_fills_as_paths_are_read_and_then_works_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    store_common::awkward_tree(&tree);
    let daemon = Daemon::start(&format!("redb://{}", tmp.path().join("served").display()));
    let path = String::from_utf8(tvix_at_ok(&daemon.url(), &[os("import"), tree.as_os_str()]))
        .unwrap()
        .trim()
        .to_owned();
    let nar = tvix_at_ok(&daemon.url(), &[os("export-nar"), os(&path)]);

    let cache_dir = tmp.path().join("cache");
    let cache = format!("redb://{}", cache_dir.display());
    let layered = format!("{}?cache={cache}", daemon.url());
    // Reading the path through the cache fetches its contents; the path info is
    // cached once they are all there.
    assert_eq!(tvix_at_ok(&layered, &[os("export-nar"), os(&path)]), nar);
    let info = tvix_at_ok(&layered, &[os("info"), os(&path)]);

    // Without the daemon, the cache answers alone, and it is a sound store.
    drop(daemon);
    assert_eq!(tvix_at_ok(&cache, &[os("export-nar"), os(&path)]), nar);
    assert_eq!(tvix_at_ok(&cache, &[os("info"), os(&path)]), info);
    let verify = String::from_utf8(tvix_at_ok(&cache, &[os("verify")])).unwrap();
    assert!(verify.ends_with(" 1 store paths: 0 problems\n"), "{verify}");
}

#[test]
fn unreachable_daemon_is_a_clear_error() {
    // A port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = tvix_at(&format!("grpc+http://127.0.0.1:{port}"), &[os("ls")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to 127.0.0.1"), "{err}");
}
