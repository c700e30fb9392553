//! A fixed-capacity byte ring for per-connection output.
