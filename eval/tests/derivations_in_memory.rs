//! Derivations and imports without a disk or C++ Nix: sources come from MemoryIO, and
//! what evaluation would write is read back from EvalIO's in-memory record (or from
//! an EvalIO that takes the writes itself, as the builder will).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use nix_compat::nar::tree::NarTree;
use nix_compat::{Derivation, StoreDir, StorePath};
use tvix_eval::io::{EvalIO, FileType, MemoryIO};
use tvix_eval::pending::{thread_default, StoreAddition};
use tvix_eval::{BuiltinConfig, Evaluator, Value};

const MAIN: &str = r#"
let
  dep = derivation { name = "dep"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "lib" ]; };
  note = builtins.toFile "note.txt" "see ${./script.sh}";
in derivation {
  name = "main";
  system = "x86_64-linux";
  builder = "${./script.sh}";
  inherit note;
  lib = dep.lib;
}
"#;

fn eval_file(io: Rc<dyn EvalIO>, path: &str, attr: &str) -> String {
    let mut ev = Evaluator::new(io, &BuiltinConfig::default(), |_| {});
    let expr = format!("(import {path}).{attr}");
    match ev.eval_strict(&expr) {
        Ok(Value::String(s)) => s.to_str_lossy().into_owned(),
        Ok(_) => panic!("not a string"),
        Err(e) => panic!("{}", e.render(false)),
    }
}

fn memory_io() -> MemoryIO {
    MemoryIO::default()
        .with_file("/p/default.nix", MAIN)
        .with_file("/p/script.sh", "echo building")
}

#[test]
fn derivations_and_imports_are_kept_in_memory() {
    let dir = StoreDir::default();
    let drv_path = eval_file(Rc::new(memory_io()), "/p", "drvPath");
    let (drvs, additions) = thread_default().take();
    let drv_path: StorePath = dir.parse(drv_path.as_bytes()).unwrap();
    let main = &drvs[&drv_path];

    // The script was imported: its NAR holds the file, and the builder refers to it.
    let (script, nar) = additions
        .iter()
        .find_map(|(p, a)| match a {
            StoreAddition::Source { from, nar, .. } if from == Path::new("/p/script.sh") => {
                Some((p, nar))
            }
            _ => None,
        })
        .expect("script.sh handed to EvalIO");
    assert_eq!(
        NarTree::read_from(&nar[..]).unwrap(),
        NarTree::File {
            executable: false,
            contents: b"echo building".to_vec()
        }
    );
    assert_eq!(main.builder, dir.display(script).into_bytes());
    assert!(main.input_sources.contains(script));

    // toFile's text refers to the script; the derivation refers to the text.
    let (note, refs) = additions
        .iter()
        .find_map(|(p, a)| match a {
            StoreAddition::Text { references, .. } => Some((p, references)),
            _ => None,
        })
        .expect("note.txt handed to EvalIO");
    assert!(refs.contains(script));
    assert!(main.input_sources.contains(note));

    // The dependency is an input derivation with the one output used.
    let (dep_path, outs) = main
        .input_derivations
        .iter()
        .next()
        .expect("dep is an input");
    assert_eq!(outs.iter().collect::<Vec<_>>(), ["lib"]);
    assert_eq!(drvs[dep_path].outputs.len(), 2);
    assert_eq!(
        main.environment[&b"lib"[..]],
        dir.display(drvs[dep_path].outputs["lib"].path.as_ref().unwrap())
            .into_bytes()
    );

    // What we would write parses back to the same derivation, at the same path.
    let aterm = main.to_aterm(&dir);
    assert_eq!(&Derivation::from_aterm(&aterm, &dir).unwrap(), main);
    assert_eq!(main.drv_path(&dir, "main").unwrap(), drv_path);
}

/// An EvalIO that takes the writes itself (the builder's seam).
#[derive(Default)]
struct TakingIO {
    files: MemoryIO,
    derivations: RefCell<Vec<(StorePath, Derivation)>>,
    added: RefCell<Vec<StorePath>>,
}

impl EvalIO for TakingIO {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.files.read_file(path)
    }
    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileType)>> {
        self.files.read_dir(path)
    }
    fn file_type(&self, path: &Path) -> std::io::Result<FileType> {
        self.files.file_type(path)
    }
    fn path_exists(&self, path: &Path) -> bool {
        self.files.path_exists(path)
    }
    fn add_derivation(&self, drv_path: &StorePath, drv: &Derivation) -> Result<(), String> {
        self.derivations
            .borrow_mut()
            .push((drv_path.clone(), drv.clone()));
        Ok(())
    }
    fn get_derivation(&self, drv_path: &StorePath) -> Option<Derivation> {
        let ds = self.derivations.borrow();
        ds.iter()
            .find(|(p, _)| p == drv_path)
            .map(|(_, d)| d.clone())
    }
    fn add_to_store(&self, path: &StorePath, _: StoreAddition) -> Result<(), String> {
        self.added.borrow_mut().push(path.clone());
        Ok(())
    }
}

#[test]
fn an_eval_io_can_take_the_writes() {
    let io = Rc::new(TakingIO {
        files: memory_io(),
        ..Default::default()
    });
    let out = eval_file(io.clone(), "/p", "outPath");
    assert_eq!(io.derivations.borrow().len(), 2, "dep and main");
    // script.sh (imported once per use, same path) and note.txt
    let mut added = io.added.borrow().clone();
    added.dedup();
    assert_eq!(added.len(), 2);
    let (_, main) = io.derivations.borrow().last().cloned().unwrap();
    assert_eq!(main.environment[&b"out"[..]], out.into_bytes());
    // Nothing went to the default record.
    assert!(thread_default().derivations.borrow().is_empty());
}

#[test]
fn a_directory_is_imported_whole() {
    let io = MemoryIO::default()
        .with_file("/src/a.txt", "a")
        .with_file("/src/sub/b.txt", "b")
        .with_file("/main.nix", "\"${./src}\"");
    let mut ev = Evaluator::new(Rc::new(io), &BuiltinConfig::default(), |_| {});
    let v = ev.eval_strict("import /main.nix").unwrap();
    let Value::String(s) = v else {
        panic!("not a string")
    };
    let (_, additions) = thread_default().take();
    let (path, what) = additions.into_iter().next().expect("one import");
    assert_eq!(s.as_bytes(), StoreDir::default().display(&path).as_bytes());
    assert_eq!(s.context().unwrap().len(), 1);
    let StoreAddition::Source { nar, from, .. } = what else {
        panic!("not a source")
    };
    assert_eq!(from, PathBuf::from("/src"));
    let NarTree::Directory(entries) = NarTree::read_from(&nar[..]).unwrap() else {
        panic!("not a directory")
    };
    assert_eq!(
        entries.keys().cloned().collect::<Vec<_>>(),
        [b"a.txt".to_vec(), b"sub".to_vec()]
    );
}
