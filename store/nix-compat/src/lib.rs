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
//!
//! ```
//! use std::collections::BTreeMap;
//! use nix_compat::derivation::{Derivation, Output};
//! use nix_compat::store_path::{compute, StoreDir, StorePath};
//!
//! let dir = StoreDir::default(); // /nix/store
//!
//! // builtins.toFile "foo" "bar"
//! let p = compute::make_text_path(&dir, "foo", b"bar", []).unwrap();
//! assert_eq!(dir.display(&p), "/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo");
//!
//! // derivation { name = "hello"; system = "x86_64-linux"; builder = "/bin/sh"; }
//! let mut drv = Derivation::default();
//! drv.outputs.insert("out".into(), Output::default());
//! drv.system = b"x86_64-linux".to_vec();
//! drv.builder = b"/bin/sh".to_vec();
//! for (k, v) in [("builder", "/bin/sh"), ("name", "hello"), ("system", "x86_64-linux")] {
//!     drv.environment.insert(k.into(), v.into());
//! }
//! // Input derivations' modulo hashes come from the caller; there are none here.
//! let known: BTreeMap<StorePath, [u8; 32]> = BTreeMap::new();
//! drv.calculate_output_paths(&dir, "hello", |p| known.get(p).copied()).unwrap();
//! let drv_path = drv.drv_path(&dir, "hello").unwrap();
//! let aterm = drv.to_aterm(&dir); // the bytes of the .drv file
//! assert_eq!(Derivation::from_aterm(&aterm, &dir).unwrap(), drv);
//! // What `nix-instantiate` prints for that expression:
//! assert_eq!(dir.display(&drv_path), "/nix/store/x0sj6ynccvc1a8kxr8fifnlf7qlxw6hd-hello.drv");
//! ```

pub mod content_address;
pub mod derivation;
pub mod hash;
pub mod nar;
pub mod narinfo;
pub mod nixbase32;
pub mod signing;
pub mod store_path;

pub use content_address::ContentAddress;
pub use derivation::Derivation;
pub use hash::{HashAlgo, NixHash};
pub use store_path::{StoreDir, StorePath};
