//! The `tenure` binary starts and knows its subcommands. (Also makes `cargo
//! test` build target/debug/tenure, which the cluster tests in tests/ run.)

use std::process::Command;

#[test]
fn help_lists_the_subcommands() {
    let out = Command::new(env!("CARGO_BIN_EXE_tenure"))
        .arg("--help")
        .output()
        .expect("run tenure --help");
    assert!(out.status.success(), "tenure --help failed: {out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in [
        "server", "dev", "demo", "lock", "status", "members", "repair",
    ] {
        assert!(
            help.contains(sub),
            "tenure --help does not mention {sub}:\n{help}"
        );
    }
}
