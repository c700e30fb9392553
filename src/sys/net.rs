//! Socket system calls (see net.rs above this module).
