//! Which store a command works on, as given by `--store`.

use std::path::PathBuf;

use crate::Error;

/// Where the store lives, parsed from `--store`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    Memory,
    /// A data directory holding the on-disk store (database and packs).
    Local(PathBuf),
    /// A store server, `host:port`.
    Grpc(String),
    /// A remote store read through a local cache (see [`crate::layered`]).
    Layered {
        cache: Box<StoreUrl>,
        remote: Box<StoreUrl>,
    },
}

impl StoreUrl {
    /// `memory://`, `local` (the default directory), `redb:///abs/dir`,
    /// `grpc+http://host:port`, and `grpc+http://host:port?cache=URL` for a remote
    /// store read through a cache given by one of the local forms.
    pub fn parse(url: &str) -> Result<StoreUrl, Error> {
        let bad = |reason: &str| Error::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        if url == "memory://" {
            Ok(StoreUrl::Memory)
        } else if url == "local" || url == "redb://" {
            Ok(StoreUrl::Local(default_data_dir().ok_or_else(|| {
                bad("neither XDG_DATA_HOME nor HOME is set")
            })?))
        } else if let Some(p) = url.strip_prefix("redb://") {
            if !p.starts_with('/') {
                return Err(bad(
                    "redb:// needs an absolute path, e.g. redb:///var/lib/tvix",
                ));
            }
            Ok(StoreUrl::Local(PathBuf::from(p)))
        } else if let Some(rest) = url.strip_prefix("grpc+http://") {
            let (host_port, query) = match rest.split_once('?') {
                Some((h, q)) => (h, Some(q)),
                None => (rest, None),
            };
            let port = host_port.rsplit_once(':').map(|(_, p)| p);
            if host_port.contains('/') || port.is_none_or(|p| p.parse::<u16>().is_err()) {
                return Err(bad("expected grpc+http://HOST:PORT"));
            }
            let remote = StoreUrl::Grpc(host_port.to_owned());
            let Some(query) = query else {
                return Ok(remote);
            };
            let cache = query
                .strip_prefix("cache=")
                .ok_or_else(|| bad("the only option is ?cache=URL"))?;
            let cache = StoreUrl::parse(cache)?;
            if !matches!(cache, StoreUrl::Memory | StoreUrl::Local(_)) {
                return Err(bad("the cache must be memory://, local or redb:///DIR"));
            }
            Ok(StoreUrl::Layered {
                cache: Box::new(cache),
                remote: Box::new(remote),
            })
        } else {
            Err(bad(
                "expected memory://, local, redb:///DIR or grpc+http://HOST:PORT[?cache=URL]",
            ))
        }
    }
}

/// `$XDG_DATA_HOME/tvix`, else `~/.local/share/tvix`.
pub fn default_data_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("tvix"));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".local/share/tvix"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        assert_eq!(StoreUrl::parse("memory://").unwrap(), StoreUrl::Memory);
        assert_eq!(
            StoreUrl::parse("redb:///x/y").unwrap(),
            StoreUrl::Local("/x/y".into())
        );
        assert_eq!(
            StoreUrl::parse("grpc+http://127.0.0.1:9000").unwrap(),
            StoreUrl::Grpc("127.0.0.1:9000".into())
        );
        assert_eq!(
            StoreUrl::parse("grpc+http://[::1]:9000?cache=redb:///c").unwrap(),
            StoreUrl::Layered {
                cache: Box::new(StoreUrl::Local("/c".into())),
                remote: Box::new(StoreUrl::Grpc("[::1]:9000".into())),
            }
        );
        for bad in [
            "grpc+http://host",
            "grpc+http://host:notaport",
            "grpc+http://host:1/path",
            "grpc+http://h:1?cache=grpc+http://h:2",
            "grpc+http://h:1?other=x",
            "redb://relative",
            "https://example",
        ] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
