//! The ssh-fanout benchmark's 20 MB program.  Run as `server --once` (as
//! the peers run it) it prints its size and exits; run by hydro as a crate
//! with no ports, it answers Hydro Deploy's protocol (`ready: {}`, then
//! `ack start` once started), prints its size and exits.
use std::io::{self, BufRead, Write};

static BLOB: &[u8] = include_bytes!("../blob");

fn main() {
    let size = std::hint::black_box(BLOB).len();
    let stdin = io::stdin();
    let mut lines = stdin.lock().lines();
    let mut out = io::stdout();
    if std::env::args().nth(1).as_deref() == Some("--once") {
        // as the peers run it
    } else if let Some(Ok(_init)) = lines.next() {
        let _ = writeln!(out, "ready: {{}}").and_then(|_| out.flush());
        let _ = lines.next();
        let _ = writeln!(out, "ack start");
    }
    let _ = writeln!(out, "started: {} bytes", size);
}
