//! What evaluation would write to the store: derivations and added paths (imported
//! sources, `toFile` texts). The evaluator writes nothing itself; it hands each of these
//! to [`EvalIO`](crate::io::EvalIO), whose default keeps them here, in memory, so the
//! store or the builder can take them after evaluation (and tests can read them back).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::rc::Rc;

use nix_compat::derivation::{Derivation, DrvHash};
use nix_compat::{ContentAddress, StorePath};

/// A path the evaluator would add to the store, with what is needed to add it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreAddition {
    /// `builtins.toFile`: a text file referring to other store paths.
    Text {
        contents: Vec<u8>,
        references: BTreeSet<StorePath>,
    },
    /// A path read from the file system (`"${./src}"`, `builtins.path`,
    /// `filterSource`), already serialised as the NAR the store holds (after any
    /// filter), and the content address its store path was computed from.
    Source {
        from: PathBuf,
        nar: Vec<u8>,
        ca: ContentAddress,
    },
}

impl StoreAddition {
    pub fn references(&self) -> impl Iterator<Item = &StorePath> {
        let refs = match self {
            StoreAddition::Text { references, .. } => Some(references),
            StoreAddition::Source { .. } => None,
        };
        refs.into_iter().flatten()
    }
}

/// Derivations and additions in memory, keyed by their store paths.
#[derive(Default, Debug)]
pub struct PendingWrites {
    pub derivations: RefCell<BTreeMap<StorePath, Derivation>>,
    pub additions: RefCell<BTreeMap<StorePath, StoreAddition>>,
    /// `hashDerivationModulo` of known derivations. A `.drv` path fixes its contents,
    /// so an entry never goes stale.
    pub drv_hashes: RefCell<HashMap<StorePath, DrvHash>>,
}

impl PendingWrites {
    pub fn add_derivation(&self, path: &StorePath, drv: &Derivation) {
        self.derivations
            .borrow_mut()
            .insert(path.clone(), drv.clone());
    }

    pub fn add(&self, path: &StorePath, what: StoreAddition) {
        self.additions.borrow_mut().insert(path.clone(), what);
    }

    pub fn derivation(&self, path: &StorePath) -> Option<Derivation> {
        self.derivations.borrow().get(path).cloned()
    }

    pub fn addition(&self, path: &StorePath) -> Option<StoreAddition> {
        self.additions.borrow().get(path).cloned()
    }

    /// Move everything out (what a store does when it takes the writes).
    pub fn take(
        &self,
    ) -> (
        BTreeMap<StorePath, Derivation>,
        BTreeMap<StorePath, StoreAddition>,
    ) {
        (
            std::mem::take(&mut *self.derivations.borrow_mut()),
            std::mem::take(&mut *self.additions.borrow_mut()),
        )
    }
}

thread_local! {
    static THREAD_DEFAULT: Rc<PendingWrites> = Rc::default();
}

/// The record that EvalIO implementations without a store of their own write to.
/// Values are single-threaded, so one record per thread is one per evaluation
/// thread.
pub fn thread_default() -> Rc<PendingWrites> {
    THREAD_DEFAULT.with(|p| p.clone())
}
