//! `hashDerivationModulo`, output paths and `.drv` paths.
//!
//! A derivation's output paths are computed from a hash of the derivation itself
//! "modulo" fixed-output derivations: each input derivation is replaced by *its*
//! modulo hash, so that changing how a fixed-output derivation fetches (but not
//! what it produces) does not change anything downstream. This crate does no I/O:
//! the caller supplies the modulo hashes of input derivations through a lookup.

use std::collections::{BTreeMap, BTreeSet};

use super::aterm::method_algo;
use super::{Derivation, DerivationError};
use crate::hash::{sha256, NixHash};
use crate::nixbase32;
use crate::store_path::compute::{make_output_path, make_text_path, output_path_name};
use crate::store_path::{StoreDir, StorePath};

/// A derivation's modulo hash (sha256).
pub type DrvHash = [u8; 32];

/// What `builtins.placeholder output` returns: a stand-in for the output's path
/// that the builder replaces.
pub fn placeholder(output_name: &str) -> String {
    format!(
        "/{}",
        nixbase32::encode(&sha256(format!("nix-output:{output_name}")))
    )
}

impl Derivation {
    /// `hashDerivationModulo` of this derivation as it is (output paths included),
    /// as used when another derivation depends on it. `lookup` gives the modulo
    /// hash of each input derivation.
    pub fn hash_derivation_modulo(
        &self,
        dir: &StoreDir,
        lookup: impl FnMut(&StorePath) -> Option<DrvHash>,
    ) -> Result<DrvHash, DerivationError> {
        self.hash_modulo(dir, false, lookup)
    }

    fn hash_modulo(
        &self,
        dir: &StoreDir,
        mask_outputs: bool,
        mut lookup: impl FnMut(&StorePath) -> Option<DrvHash>,
    ) -> Result<DrvHash, DerivationError> {
        if let Some(ca) = self.fixed_output()? {
            // Only what the output is matters, not how it is made.
            let path = self.outputs["out"]
                .path
                .as_ref()
                .ok_or_else(|| DerivationError::MissingOutputPath("out".into()))?;
            return Ok(sha256(format!(
                "fixed:out:{}:{}:{}",
                method_algo(ca),
                ca.hash().to_base16(),
                dir.display(path)
            )));
        }
        // Several inputs may share a modulo hash; their output names are merged.
        let mut inputs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, outs) in &self.input_derivations {
            let h = lookup(path)
                .ok_or_else(|| DerivationError::UnknownInputDerivation(path.clone()))?;
            inputs
                .entry(data_encoding::HEXLOWER.encode(&h))
                .or_default()
                .extend(outs.iter().cloned());
        }
        let inputs: Vec<(&String, &BTreeSet<String>)> = inputs.iter().collect();
        Ok(sha256(self.write_aterm(dir, mask_outputs, &inputs)))
    }

    /// Fill in the output paths (and the environment variables named after the
    /// outputs) the way `derivationStrict` does, for a derivation called `name`.
    /// Existing output paths and those variables are ignored and overwritten.
    pub fn calculate_output_paths(
        &mut self,
        dir: &StoreDir,
        name: &str,
        lookup: impl FnMut(&StorePath) -> Option<DrvHash>,
    ) -> Result<(), DerivationError> {
        if self.outputs.is_empty() {
            return Err(DerivationError::NoOutputs);
        }
        if let Some(ca) = self.fixed_output()? {
            let path = ca.store_path(dir, &output_path_name(name, "out"), [], false)?;
            self.environment
                .insert(b"out".to_vec(), dir.display(&path).into_bytes());
            self.outputs.get_mut("out").expect("checked").path = Some(path);
            return Ok(());
        }
        // Outputs are blank while hashing: they are what is being computed.
        for (out_name, out) in self.outputs.iter_mut() {
            out.path = None;
            self.environment
                .insert(out_name.as_bytes().to_vec(), Vec::new());
        }
        let h = NixHash::sha256(self.hash_modulo(dir, true, lookup)?);
        for (out_name, out) in self.outputs.iter_mut() {
            let path = make_output_path(dir, out_name, &h, name)?;
            self.environment.insert(
                out_name.as_bytes().to_vec(),
                dir.display(&path).into_bytes(),
            );
            out.path = Some(path);
        }
        Ok(())
    }

    /// The store path of this derivation's `.drv` file, for a derivation called
    /// `name`: a text path referring to all its inputs.
    pub fn drv_path(&self, dir: &StoreDir, name: &str) -> Result<StorePath, DerivationError> {
        let refs = self
            .input_sources
            .iter()
            .chain(self.input_derivations.keys());
        Ok(make_text_path(
            dir,
            &format!("{name}.drv"),
            &self.to_aterm(dir),
            refs,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content_address::ContentAddress;
    use crate::derivation::Output;
    use crate::hash::HashAlgo;
    use crate::store_path::compute::FileIngestionMethod;

    fn simple(name: &str) -> Derivation {
        let mut d = Derivation::default();
        d.outputs.insert("out".into(), Output::default());
        d.system = b"x86_64-linux".to_vec();
        d.builder = b"/bin/sh".to_vec();
        d.environment
            .insert(b"name".to_vec(), name.as_bytes().to_vec());
        d
    }

    #[test]
    fn placeholder_matches_nix() {
        // nix-instantiate --eval -E 'builtins.placeholder "out"'
        assert_eq!(
            placeholder("out"),
            "/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9"
        );
    }

    #[test]
    fn input_addressed_paths_fill_env() {
        let dir = StoreDir::default();
        let mut d = simple("hello");
        d.outputs.insert("dev".into(), Output::default());
        d.calculate_output_paths(&dir, "hello", |_| None).unwrap();
        assert_eq!(d.outputs["out"].path.as_ref().unwrap().name(), "hello");
        assert_eq!(d.outputs["dev"].path.as_ref().unwrap().name(), "hello-dev");
        assert_eq!(
            d.environment[&b"dev"[..]],
            dir.display(d.outputs["dev"].path.as_ref().unwrap())
                .into_bytes()
        );
        // Recomputing from the filled-in derivation gives the same paths.
        let mut again = d.clone();
        again
            .calculate_output_paths(&dir, "hello", |_| None)
            .unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn fixed_output_hash_ignores_the_recipe() {
        let dir = StoreDir::default();
        let ca = ContentAddress::Fixed {
            method: FileIngestionMethod::Flat,
            hash: NixHash::digest(HashAlgo::Sha256, "contents"),
        };
        let mut a = simple("src");
        a.outputs.get_mut("out").unwrap().ca = Some(ca.clone());
        let mut b = a.clone();
        b.builder = b"/other/builder".to_vec();
        a.calculate_output_paths(&dir, "src", |_| None).unwrap();
        b.calculate_output_paths(&dir, "src", |_| None).unwrap();
        assert_eq!(a.outputs, b.outputs);
        assert_eq!(
            a.hash_derivation_modulo(&dir, |_| None).unwrap(),
            b.hash_derivation_modulo(&dir, |_| None).unwrap()
        );
        assert_ne!(
            a.drv_path(&dir, "src").unwrap(),
            b.drv_path(&dir, "src").unwrap()
        );
    }

    #[test]
    fn unknown_input_is_an_error() {
        let dir = StoreDir::default();
        let mut d = simple("x");
        let dep: StorePath = "0k0ygnv3wdcjik884ds7qg5yxkdfjnc6-dep.drv".parse().unwrap();
        d.input_derivations
            .insert(dep.clone(), ["out".to_owned()].into());
        assert_eq!(
            d.calculate_output_paths(&dir, "x", |_| None),
            Err(DerivationError::UnknownInputDerivation(dep))
        );
    }

    #[test]
    fn fixed_output_must_be_single_out() {
        let mut d = simple("x");
        d.outputs.get_mut("out").unwrap().ca =
            Some(ContentAddress::Text(NixHash::digest(HashAlgo::Sha256, "")));
        d.outputs.insert("dev".into(), Output::default());
        assert_eq!(d.fixed_output(), Err(DerivationError::FixedOutputNotOut));
    }
}
