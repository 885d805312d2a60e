//! The `tenure` command: run a server node or a local dev cluster, run the
//! demo, and talk to a cluster from the shell. The server itself is the
//! `tenure-server` crate; this crate only parses command lines and drives it
//! (and the client core, `tenure`).
//!
//! - [`commands`]: the client subcommands (`lock`, `status`, `locks`, ...).
//! - [`dev`]: a local cluster inside one process (`tenure dev`, the demo).
//! - [`demo`]: `tenure demo`, fenced SQLite writes while things break.
//! - [`devcerts`]: throw-away certificates (`tenure dev --tls`, tests).

pub mod commands;
pub mod demo;
pub mod dev;
pub mod devcerts;
