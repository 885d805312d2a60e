//! Runs the Rust examples against a real cluster.

use std::process::Command;
use std::time::Duration;

use tenure_tests::Cluster;

fn example(name: &str) -> std::path::PathBuf {
    tenure_tests::tenure_bin().with_file_name(name)
}

#[tokio::test]
async fn rust_examples_run_to_completion() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(Duration::from_secs(10)).await;
    for (name, args) in [
        ("quickstart", vec![]),
        ("fenced_sqlite", vec![]),
        ("singleton_worker", vec!["2"]),
    ] {
        let out = Command::new(example(name))
            .args(&args)
            .env("TENURE_ENDPOINTS", cluster.endpoints_csv())
            .output()
            .unwrap_or_else(|e| panic!("run {name}: {e} (build with cargo build --workspace)"));
        assert!(
            out.status.success(),
            "{name} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
