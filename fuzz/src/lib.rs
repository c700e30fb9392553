//! The fuzz targets' logic, in plain functions so that `cargo test` in the
//! main crate replays the committed corpora without cargo-fuzz
//! (`programs/tests/fuzz_corpus.rs` includes these files).
pub mod chatlog;
pub mod cursor;
pub mod dispatch;
pub mod http_head;
pub mod netlink;
pub mod selector_ops;
pub mod ws_frame;
