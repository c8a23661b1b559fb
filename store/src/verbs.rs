//! What the `tvix store` verbs print, so the command line only parses arguments,
//! shows progress and calls these.

use std::io::Write;

use tvix_castore::grpc::serve::ServerHandle;
use tvix_castore::proto::node;
use tvix_castore::Node;

use crate::{Error, Store, VerifyCounts};

fn out(e: std::io::Error) -> Error {
    Error::Output(e)
}

/// `export-nar`: the NAR of a store path (not of something below one).
pub fn export_nar(store: &Store, abs: &str, w: &mut dyn Write) -> Result<(), Error> {
    let (p, sub) = store.parse_path(abs)?;
    if !sub.is_empty() {
        return Err(Error::NotAStorePath(abs.to_owned()));
    }
    store.export_nar(&p, &mut { w })
}

/// `ls`: every store path, or the entries of a directory in the store (or the
/// one line of what else is at `abs`). Path infos that do not decode go to `warn`.
pub fn ls(
    store: &Store,
    abs: Option<&str>,
    w: &mut dyn Write,
    warn: &mut dyn FnMut(Error),
) -> Result<(), Error> {
    let Some(abs) = abs else {
        for info in store.paths.list()? {
            match info {
                Ok(i) => writeln!(w, "{}", store.store_dir.display(&i.store_path)).map_err(out)?,
                Err(e) => warn(e),
            }
        }
        return Ok(());
    };
    let n = store.lookup(abs)?;
    let entries = match &n.node {
        Some(node::Node::Directory(_)) => store.list_dir(abs)?,
        _ => vec![n],
    };
    for e in entries {
        writeln!(w, "{}", describe(&e)).map_err(out)?;
    }
    Ok(())
}

/// `info`: what the store records about a store path, narinfo style.
pub fn info(store: &Store, abs: &str, w: &mut dyn Write) -> Result<(), Error> {
    let (p, _) = store.parse_path(abs)?;
    let info = store.path_info(&p)?;
    let sd = &store.store_dir;
    let mut text = format!(
        "StorePath: {}\nNarHash: sha256:{}\nNarSize: {}\n",
        sd.display(&info.store_path),
        nix_compat::nixbase32::encode(&info.nar_sha256),
        info.nar_size
    );
    let refs: Vec<String> = info.references.iter().map(|r| r.to_string()).collect();
    text += &format!("References: {}\n", refs.join(" "));
    if let Some(d) = &info.deriver {
        text += &format!("Deriver: {d}\n");
    }
    for s in &info.signatures {
        text += &format!("Sig: {s}\n");
    }
    if let Some(ca) = &info.ca {
        text += &format!("CA: {ca}\n");
    }
    text += &format!("Root: {}\n", describe(&info.node));
    w.write_all(text.as_bytes()).map_err(out)
}

/// The last line of `verify`.
pub fn verify_summary(counts: &VerifyCounts, problems: usize) -> String {
    format!(
        "checked {} chunks, {} blobs, {} directories, {} store paths: {} problems",
        counts.chunks, counts.blobs, counts.directories, counts.paths, problems
    )
}

/// `daemon`: serves `store` on `listen`, tells `announce` the address it listens
/// on (the real port when given port 0), and serves until the process ends.
pub fn daemon(store: &Store, listen: &str, announce: &mut dyn Write) -> Result<(), Error> {
    let server: ServerHandle = crate::grpc::serve(store, listen)?;
    writeln!(announce, "listening on {}", server.local_addr()).map_err(out)?;
    announce.flush().map_err(out)?;
    Ok(server.wait()?)
}

/// One line for a node: type and mode, size, name (and symlink target).
pub fn describe(n: &Node) -> String {
    let name = String::from_utf8_lossy(n.name());
    match &n.node {
        Some(node::Node::Directory(d)) => format!("dr-xr-xr-x {:>12} {name}/", d.size),
        Some(node::Node::File(f)) => {
            let mode = if f.executable {
                "-r-xr-xr-x"
            } else {
                "-r--r--r--"
            };
            format!("{mode} {:>12} {name}", f.size)
        }
        Some(node::Node::Symlink(s)) => {
            format!(
                "lrwxrwxrwx {:>12} {name} -> {}",
                0,
                String::from_utf8_lossy(&s.target)
            )
        }
        None => format!("? {name}"),
    }
}
