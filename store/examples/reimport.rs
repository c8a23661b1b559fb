fn main() {
    let root = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let d = tempfile::tempdir().unwrap();
    tvix_store::Store::open_local(d.path())
        .unwrap()
        .import_path(&root)
        .unwrap();
    for _ in 0..6 {
        let s = std::time::Instant::now();
        tvix_store::Store::open_local(d.path())
            .unwrap()
            .import_path(&root)
            .unwrap();
        eprintln!("{:?}", s.elapsed());
    }
}
