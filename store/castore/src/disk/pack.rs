//! Pack files: chunk data appended to plain files beside the database, written
//! straight from the writer's buffers in one system call per batch. The database
//! holds where each chunk is ([`Loc`]) and how long each pack was at the last
//! commit; bytes past that are a tail a killed process left behind, which nothing
//! refers to, and opening trims them.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::{B3Digest, Error};

/// A pack is closed and a new one started once it reaches this size.
pub const PACK_LIMIT: u64 = 1 << 30;

/// Where a chunk's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc {
    pub pack: u32,
    pub offset: u64,
    pub len: u32,
}

impl Loc {
    pub fn encode(&self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..4].copy_from_slice(&self.pack.to_le_bytes());
        out[4..12].copy_from_slice(&self.offset.to_le_bytes());
        out[12..].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> Option<Loc> {
        let b: &[u8; 16] = b.try_into().ok()?;
        Some(Loc {
            pack: u32::from_le_bytes(b[..4].try_into().expect("4 bytes")),
            offset: u64::from_le_bytes(b[4..12].try_into().expect("8 bytes")),
            len: u32::from_le_bytes(b[12..].try_into().expect("4 bytes")),
        })
    }
}

fn pack_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("{id:08}.pack"))
}

/// The pack being appended to.
struct Active {
    id: u32,
    file: File,
    len: u64,
    /// Written since the last sync.
    dirty: bool,
}

/// The writing side; one per open store, used under the backend's lock.
pub struct PackWriter {
    dir: PathBuf,
    active: Option<Active>,
    /// Pack lengths to record at the next commit.
    lengths: BTreeMap<u32, u64>,
    next_id: u32,
}

/// The reading side, shared by all threads.
#[derive(Default)]
pub struct PackReaders {
    files: RwLock<HashMap<u32, Arc<File>>>,
}

/// Prepares `dir` for use given the pack lengths the database recorded: trims
/// every pack to its recorded length and removes packs it never recorded (both
/// are what a process killed before its commit left behind). Only the process
/// holding the database may call this.
pub fn open(dir: &Path, recorded: &BTreeMap<u32, u64>) -> Result<(PackWriter, PackReaders), Error> {
    fs::create_dir_all(dir)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let id = name
            .to_str()
            .and_then(|n| n.strip_suffix(".pack"))
            .and_then(|n| n.parse::<u32>().ok());
        let Some(id) = id else { continue };
        match recorded.get(&id) {
            None => fs::remove_file(entry.path())?,
            Some(&len) => {
                let f = OpenOptions::new().write(true).open(entry.path())?;
                if f.metadata()?.len() > len {
                    f.set_len(len)?;
                    f.sync_all()?;
                }
            }
        }
    }
    let next_id = recorded.keys().next_back().map_or(0, |&id| id);
    Ok((
        PackWriter {
            dir: dir.to_path_buf(),
            active: None,
            lengths: BTreeMap::new(),
            next_id,
        },
        PackReaders::default(),
    ))
}

impl PackWriter {
    /// The pack to append to: the last recorded one if it has room, else a new one.
    fn active(&mut self) -> Result<&mut Active, Error> {
        if self.active.as_ref().is_some_and(|a| a.len >= PACK_LIMIT) {
            self.sync()?;
            self.active = None;
            self.next_id += 1;
        }
        if self.active.is_none() {
            let path = pack_path(&self.dir, self.next_id);
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            let len = file.metadata()?.len();
            if len >= PACK_LIMIT {
                self.next_id += 1;
                return self.active();
            }
            if len == 0 {
                // The new file's name must survive a crash as well as its data.
                File::open(&self.dir)?.sync_all()?;
            }
            self.active = Some(Active {
                id: self.next_id,
                file,
                len,
                dirty: false,
            });
        }
        Ok(self.active.as_mut().expect("just set"))
    }

    /// Appends the chunks made of `pieces` (in order, `lens` bytes each) and
    /// returns where each went.
    pub fn append(&mut self, pieces: &[Bytes], lens: &[usize]) -> Result<Vec<Loc>, Error> {
        let total: u64 = lens.iter().map(|&l| l as u64).sum();
        let a = self.active()?;
        let start = a.len;
        if let Err(e) = write_all_vectored(&mut a.file, pieces) {
            // Leave no partial data for the next append to follow.
            a.file.set_len(start)?;
            return Err(e.into());
        }
        start_writeback(&a.file, start, total);
        a.len += total;
        a.dirty = true;
        let (id, len) = (a.id, a.len);
        self.lengths.insert(id, len);
        let mut offset = start;
        Ok(lens
            .iter()
            .map(|&l| {
                let loc = Loc {
                    pack: id,
                    offset,
                    len: l as u32,
                };
                offset += l as u64;
                loc
            })
            .collect())
    }

    /// Makes everything appended so far durable.
    pub fn sync(&mut self) -> Result<(), Error> {
        if let Some(a) = &mut self.active {
            if a.dirty {
                a.file.sync_data()?;
                a.dirty = false;
            }
        }
        Ok(())
    }

    /// The pack lengths that changed since the last call, to be committed.
    pub fn take_lengths(&mut self) -> BTreeMap<u32, u64> {
        std::mem::take(&mut self.lengths)
    }

    /// Puts back lengths whose commit failed.
    pub fn restore_lengths(&mut self, lengths: BTreeMap<u32, u64>) {
        for (id, len) in lengths {
            let e = self.lengths.entry(id).or_insert(len);
            *e = (*e).max(len);
        }
    }
}

/// Asks the kernel to start writing `len` bytes at `offset` to disk without
/// waiting, so the device works while ingest hashes the next bytes and the sync
/// before a durable commit finds little left to do. Best effort: that sync is
/// what makes the data durable.
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain system call on an open descriptor; it touches no memory.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

fn write_all_vectored(file: &mut File, pieces: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<IoSlice> = pieces.iter().map(|p| IoSlice::new(p)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl PackReaders {
    fn file(&self, dir: &Path, id: u32) -> io::Result<Arc<File>> {
        if let Some(f) = self
            .files
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            return Ok(f.clone());
        }
        let f = Arc::new(File::open(pack_path(dir, id))?);
        self.files
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, f.clone());
        Ok(f)
    }

    /// The bytes at `loc` (unchecked: readers hash them).
    pub fn read(&self, dir: &Path, digest: &B3Digest, loc: Loc) -> Result<Vec<u8>, Error> {
        let missing = |reason: String| Error::Malformed {
            kind: "chunk",
            digest: *digest,
            reason,
        };
        let f = self.file(dir, loc.pack).map_err(|e| {
            missing(format!(
                "its pack file {} cannot be opened: {e}",
                pack_path(dir, loc.pack).display()
            ))
        })?;
        let mut buf = vec![0; loc.len as usize];
        f.read_exact_at(&mut buf, loc.offset).map_err(|e| {
            missing(format!(
                "pack file {} does not hold bytes {}..{}: {e}",
                pack_path(dir, loc.pack).display(),
                loc.offset,
                loc.offset + loc.len as u64
            ))
        })?;
        Ok(buf)
    }
}

#[cfg(test)]
impl PackWriter {
    /// Makes the next append start a new pack, as reaching [`PACK_LIMIT`] does.
    pub fn force_full_for_test(&mut self) {
        if let Some(a) = &mut self.active {
            a.len = a.len.max(PACK_LIMIT);
        }
    }
}
