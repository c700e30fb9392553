//! Replays the committed fuzz corpora and regression inputs through the
//! fuzz targets' checks, so `make test` runs them on stable Rust.

#[path = "../fuzz/src/cursor.rs"]
mod cursor;
#[path = "../fuzz/src/dispatch.rs"]
mod dispatch;
#[path = "../fuzz/src/selector_ops.rs"]
mod selector_ops;

fn replay(target: &str, run: fn(&[u8])) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| run(&data));
            assert!(result.is_ok(), "{target}: input {} fails", path.display());
            count += 1;
        }
    }
    assert!(count > 0, "no corpus for {target}");
}

#[test]
fn dispatch_corpus() {
    replay("dispatch", dispatch::run);
}

#[test]
fn selector_ops_corpus() {
    replay("selector_ops", selector_ops::run);
}
