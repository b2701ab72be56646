//! The `study` command: runs study files and writes reports.

fn main() {}
