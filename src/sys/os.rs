//! Process-level calls: stdio, time of day, command line, exit.
