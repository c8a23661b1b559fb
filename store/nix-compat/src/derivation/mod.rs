//! Derivations: the build recipes the evaluator produces and the builder runs.
//!
//! [`Derivation`] mirrors what a `.drv` file holds. Strings that come from Nix
//! code (system, builder, arguments, environment) are byte strings, since Nix
//! strings need not be UTF-8. [`aterm`] reads and writes the `.drv` format
//! byte-for-byte as C++ Nix does, [`hashing`] computes `hashDerivationModulo`, the
//! output paths and the `.drv` path, and [`json`] prints the form
//! `nix show-derivation` prints. Structured attributes need nothing special here:
//! they are the `__json` environment variable.

pub mod aterm;
pub mod hashing;
pub mod json;

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use crate::content_address::ContentAddress;
use crate::store_path::compute::ComputeError;
use crate::store_path::StorePath;

pub use aterm::AtermError;
pub use hashing::{placeholder, DrvHash};

/// One output of a derivation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// The output path; `None` while it is not yet known (it is blank in the
    /// ATerm that `hashDerivationModulo` hashes).
    pub path: Option<StorePath>,
    /// For fixed-output derivations: the expected content address.
    pub ca: Option<ContentAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Derivation {
    pub outputs: BTreeMap<String, Output>,
    /// Derivations this one depends on, with the outputs it uses.
    pub input_derivations: BTreeMap<StorePath, BTreeSet<String>>,
    /// Store paths (not outputs of derivations) this one depends on.
    pub input_sources: BTreeSet<StorePath>,
    pub system: Vec<u8>,
    pub builder: Vec<u8>,
    pub arguments: Vec<Vec<u8>>,
    pub environment: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// Why a derivation is not well-formed, or its paths cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DerivationError {
    #[error("derivation has no outputs")]
    NoOutputs,
    #[error("fixed-output derivations must have exactly one output, named 'out'")]
    FixedOutputNotOut,
    #[error("the hash of input derivation '{0}' is not known")]
    UnknownInputDerivation(StorePath),
    #[error("output '{0}' has no path")]
    MissingOutputPath(String),
    #[error("derivation has no 'name', neither in its environment nor in '__json'")]
    MissingName,
    #[error("cannot compute a path: {0}")]
    Compute(#[from] ComputeError),
}

impl Derivation {
    /// The fixed output's content address, if this is a fixed-output derivation.
    pub fn fixed_output(&self) -> Result<Option<&ContentAddress>, DerivationError> {
        let any_ca = self.outputs.values().any(|o| o.ca.is_some());
        if !any_ca {
            return Ok(None);
        }
        match (self.outputs.len(), self.outputs.get("out")) {
            (1, Some(Output { ca: Some(ca), .. })) => Ok(Some(ca)),
            _ => Err(DerivationError::FixedOutputNotOut),
        }
    }

    /// The derivation's name as Nix code gave it: the `name` variable, or with
    /// structured attributes the `name` field of `__json`.
    pub fn name_from_env(&self) -> Result<String, DerivationError> {
        if let Some(n) = self.environment.get(&b"name"[..]) {
            return String::from_utf8(n.clone()).map_err(|_| DerivationError::MissingName);
        }
        let json = self
            .environment
            .get(&b"__json"[..])
            .ok_or(DerivationError::MissingName)?;
        let v: serde_json::Value =
            serde_json::from_slice(json).map_err(|_| DerivationError::MissingName)?;
        v.get("name")
            .and_then(|n| n.as_str())
            .map(str::to_owned)
            .ok_or(DerivationError::MissingName)
    }
}
