//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) and the
//! inputs of fixed findings (`fuzz/regressions/<target>/`) through the fuzz
//! targets' checks, so that `make test` runs them on stable Rust without
//! cargo-fuzz. The targets' logic lives in plain files under `fuzz/src/`;
//! they need picosel's `fuzzing` feature, which this crate's
//! dev-dependency turns on (so the published picosel package carries no
//! test that reaches outside it). `chat_framing`'s corpus is replayed by
//! `framing.rs`.

#[path = "../../fuzz/src/chatlog.rs"]
mod chatlog;
#[path = "../../fuzz/src/cursor.rs"]
mod cursor;
#[path = "../../fuzz/src/dispatch.rs"]
mod dispatch;
#[path = "../../fuzz/src/http_head.rs"]
mod http_head;
#[path = "../../fuzz/src/netlink.rs"]
mod netlink;
#[path = "../../fuzz/src/selector_ops.rs"]
mod selector_ops;
#[path = "../../fuzz/src/ws_frame.rs"]
mod ws_frame;

use std::path::PathBuf;
use std::sync::Mutex;

/// `selector_ops` predicts what closed fd numbers do, so no other test of
/// this binary may open a file (or read the corpus) while it runs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn replay(target: &str, run: fn(&[u8])) {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                let data = std::fs::read(&path).unwrap();
                inputs.push((path, data));
            }
        }
    }
    assert!(!inputs.is_empty(), "no corpus for {target}");
    inputs.sort();
    let mut failed = Vec::new();
    for (path, data) in &inputs {
        if std::panic::catch_unwind(|| run(data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: these inputs fail: {failed:#?}");
}

#[test]
fn dispatch_corpus() {
    replay("dispatch", dispatch::run);
}

#[test]
fn selector_ops_corpus() {
    replay("selector_ops", selector_ops::run);
}

#[test]
fn netlink_corpus() {
    replay("netlink", netlink::run);
}

#[test]
fn addr_corpus() {
    replay("addr", progs::addr::check_against_core);
}

#[test]
fn chatlog_corpus() {
    replay("chatlog", chatlog::run);
}

#[test]
fn http_head_corpus() {
    replay("http_head", http_head::run);
}

#[test]
fn ws_frame_corpus() {
    replay("ws_frame", ws_frame::run);
}
