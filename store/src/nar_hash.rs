//! Hashing a NAR as it is produced, without keeping it: a `Write` sink that counts
//! bytes and computes SHA-256 on a second thread, so that the castore side of an
//! ingest (BLAKE3, chunking, storage) and the NAR hash run on two cores.

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};
use tvix_castore::{Bytes, SharedPiece};

/// Bytes handed to the hashing thread at a time.
const BATCH: usize = 256 * 1024;

/// Shared buffers at least this large go to the hashing thread as they are;
/// smaller ones are cheaper to copy into the batch than to send alone.
const SHARE_MIN: usize = 64 * 1024;

/// What the hashing thread is sent.
enum Piece {
    Owned(Vec<u8>),
    Shared(Bytes),
    /// Hashed unit by unit, with the units of the blob's BLAKE3 that the
    /// cutter has not claimed yet.
    Helped(Arc<SharedPiece>),
}

/// Counts and SHA-256-hashes everything written to it.
pub struct NarHashSink {
    buf: Vec<u8>,
    size: u64,
    tx: Option<SyncSender<Piece>>,
    worker: Option<JoinHandle<[u8; 32]>>,
}

impl Default for NarHashSink {
    fn default() -> Self {
        Self::new()
    }
}

impl NarHashSink {
    pub fn new() -> Self {
        let (tx, rx) = sync_channel::<Piece>(4);
        // Named so profiles tell it apart; spawning fails only as `spawn` would panic.
        let worker = std::thread::Builder::new()
            .name("nar-sha256".into())
            .spawn(move || {
                let mut h = Sha256::new();
                for p in rx {
                    match p {
                        Piece::Owned(b) => h.update(&b),
                        Piece::Shared(b) => h.update(&b),
                        Piece::Helped(p) => p.help(|unit| h.update(unit)),
                    }
                }
                h.finalize().into()
            });
        let worker = worker.expect("spawning the NAR hashing thread");
        NarHashSink {
            buf: Vec::with_capacity(BATCH),
            size: 0,
            tx: Some(tx),
            worker: Some(worker),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH));
        self.send_piece(Piece::Owned(full))
    }

    fn send_piece(&mut self, p: Piece) -> io::Result<()> {
        self.tx
            .as_ref()
            .expect("sink not finished")
            .send(p)
            .map_err(|_| io::Error::other("NAR hashing thread stopped"))
    }

    /// Like `write_all`, but a large buffer is hashed where it is, not copied.
    pub fn write_shared(&mut self, data: Bytes) -> io::Result<()> {
        if data.len() < SHARE_MIN {
            return self.write_all(&data);
        }
        self.size += data.len() as u64;
        self.send()?;
        self.send_piece(Piece::Shared(data))
    }

    /// Like [`Self::write_shared`], and the hashing thread helps with the
    /// blob's BLAKE3 of the piece (see [`SharedPiece`]).
    pub fn write_helped(&mut self, piece: Arc<SharedPiece>) -> io::Result<()> {
        self.size += piece.data().len() as u64;
        self.send()?;
        self.send_piece(Piece::Helped(piece))
    }

    /// The NAR's size and SHA-256.
    pub fn finish(mut self) -> io::Result<(u64, [u8; 32])> {
        self.send()?;
        drop(self.tx.take());
        let digest = self
            .worker
            .take()
            .expect("finished once")
            .join()
            .map_err(|_| io::Error::other("NAR hashing thread panicked"))?;
        Ok((self.size, digest))
    }
}

impl Write for NarHashSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.size += data.len() as u64;
        if data.len() >= BATCH && self.buf.is_empty() {
            self.buf.extend_from_slice(data);
            self.send()?;
        } else {
            self.buf.extend_from_slice(data);
            if self.buf.len() >= BATCH {
                self.send()?;
            }
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for NarHashSink {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// Counts and SHA-256-hashes everything read through it (for NAR streams coming in).
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    pub fn finish(self) -> (u64, [u8; 32]) {
        (self.size, self.hasher.finalize().into())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_matches_plain_sha256() {
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut s = NarHashSink::new();
        for piece in data.chunks(70_001) {
            s.write_all(piece).unwrap();
        }
        s.write_all(&data[..BATCH + 1]).unwrap();
        s.write_shared(Bytes::copy_from_slice(&data[..SHARE_MIN + 3]))
            .unwrap();
        s.write_all(b"between").unwrap();
        s.write_shared(Bytes::copy_from_slice(&data[..10])).unwrap();
        let piece = Arc::new(SharedPiece::new(
            Bytes::copy_from_slice(&data[..100_001]),
            0,
        ));
        s.write_helped(piece.clone()).unwrap();
        let (size, digest) = s.finish().unwrap();
        let mut all = data.clone();
        all.extend_from_slice(&data[..BATCH + 1]);
        all.extend_from_slice(&data[..SHARE_MIN + 3]);
        all.extend_from_slice(b"between");
        all.extend_from_slice(&data[..10]);
        all.extend_from_slice(&data[..100_001]);
        assert_eq!(size, all.len() as u64);
        let expected: [u8; 32] = Sha256::digest(&all).into();
        assert_eq!(digest, expected);

        let mut r = HashingReader::new(&data[..]);
        std::io::copy(&mut r, &mut std::io::sink()).unwrap();
        assert_eq!(
            r.finish(),
            (data.len() as u64, Sha256::digest(&data).into())
        );
    }
}
