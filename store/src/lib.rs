//! tvix-store: the Nix store on top of tvix-castore. It knows store paths and
//! what Nix records about them (path info: references, NAR hash and size,
//! signatures, deriver, content address), turns filesystem trees and NAR streams
//! into castore trees, and renders NARs back out of castore.
//!
//! It must not know about evaluation or building. The `tvix store` command parses
//! arguments and shows progress; what each verb does and prints is in [`verbs`].
//! The store is served and reached over gRPC ([`grpc`]), and a remote store can be
//! read through a local cache ([`layered`]).

mod error;
pub mod grpc;
pub mod ingest_fs;
pub mod ingest_nar;
pub mod layered;
pub mod nar_hash;
pub mod pathinfo;
pub mod pathinfo_service;
pub mod render;
mod segments;
mod store;
pub mod store_url;
pub mod verbs;

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
pub use store::{renamed, Problem, Store, VerifyCounts, VerifyProgress};
pub use store_url::{default_data_dir, StoreUrl};
