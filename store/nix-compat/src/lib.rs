//! Nix's formats, exactly as C++ Nix reads and writes them: nixbase32, hashes, store
//! paths and how they are computed, derivations (ATerm, `hashDerivationModulo`,
//! output paths, JSON), NAR archives, and narinfo files with their ed25519
//! signatures.
//!
//! This crate is pure computation over bytes. It must not know about any store
//! implementation, the evaluator, the network or the file system; the single
//! exception is [`nar::dump`] (feature `fs`, on by default), which reads a
//! filesystem path to produce its NAR. Everything else takes and returns values or
//! streams (`std::io::Read`/`Write`), and anything that needs to look up other
//! store objects (for example the hashes of input derivations) asks its caller.

pub mod content_address;
pub mod hash;
pub mod nar;
pub mod store_path;
pub mod nixbase32;

pub use content_address::ContentAddress;
pub use hash::{HashAlgo, NixHash};
pub use store_path::{StoreDir, StorePath};
