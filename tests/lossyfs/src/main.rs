//! `tenure-lossyfs BACKING MOUNTPOINT`: mounts the lossy filesystem until
//! SIGTERM or SIGINT. SIGUSR1 is a power loss: every write not yet fsynced is
//! dropped. One line of counters goes to stdout after mounting, after each
//! power loss and at exit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use nix::sys::signal::{SigSet, Signal};
use tenure_lossyfs::LossyFs;

/// Command line.
#[derive(Parser)]
#[command(about = "A FUSE pass-through that drops unsynced writes on SIGUSR1 (power loss)")]
struct Args {
    /// Directory that holds the durable data.
    backing: PathBuf,
    /// Where to mount the lossy view of it.
    mountpoint: PathBuf,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    // Block the signals before the FUSE thread starts, so only sigwait sees them.
    let mut signals = SigSet::empty();
    for s in [Signal::SIGUSR1, Signal::SIGTERM, Signal::SIGINT] {
        signals.add(s);
    }
    if let Err(e) = signals.thread_block() {
        eprintln!("tenure-lossyfs: cannot block signals: {e}");
        return ExitCode::FAILURE;
    }
    let fs = match LossyFs::mount(&args.backing, &args.mountpoint) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("tenure-lossyfs: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("mounted {:?}", fs.stats());
    loop {
        match signals.wait() {
            Ok(Signal::SIGUSR1) => {
                fs.power_loss();
                println!("power-loss {:?}", fs.stats());
            }
            Ok(_) => break,
            Err(e) => {
                eprintln!("tenure-lossyfs: sigwait: {e}");
                break;
            }
        }
    }
    println!("unmounting {:?}", fs.stats());
    fs.unmount();
    ExitCode::SUCCESS
}
