//! tvix-store: the Nix store on top of tvix-castore. It knows store paths and
//! what Nix records about them (path info: references, NAR hash and size,
//! signatures, deriver, content address), turns filesystem trees and NAR streams
//! into castore trees, and renders NARs back out of castore.
//!
//! It must not know about evaluation or building, nor about the command line: the
//! `tvix store` verbs live in the `tvix` binary and only call into this crate.

mod error;
pub mod ingest_fs;
pub mod ingest_nar;
pub mod nar_hash;
pub mod pathinfo;
pub mod pathinfo_service;
pub mod render;
mod segments;
mod store;

pub use error::Error;

/// How deep directories may nest in a NAR stream we ingest. Walks keep their own
/// stacks, so this is no stack limit; it only bounds what an untrusted stream can
/// make us hold open (a small frame per level), far beyond any real tree (paths on
/// disk stop at PATH_MAX, about 2000 levels). Filesystem ingest and rendering
/// have no limit.
pub const MAX_NAR_DEPTH: usize = 100_000;
pub use ingest_fs::{ingest_path, ingest_path_observed, Ingested};
pub use ingest_nar::ingest_nar;
pub use pathinfo::PathInfo;
pub use pathinfo_service::{MemoryPathInfoService, PathInfoService, RedbPathInfoService};
pub use render::render_nar;
pub use store::{
    default_data_dir, renamed, Problem, Store, StoreUrl, VerifyCounts, VerifyProgress,
};
