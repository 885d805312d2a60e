//! The deployment examples in deploy/ (systemd, container, Kubernetes) stay in
//! step with the binary: every `tenure server` flag they pass exists, and the
//! readiness probe they use (`tenure status --ready`) tells a serving node from
//! one that is not. (No container engine runs on CI machines, so the image
//! itself is not built here.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tenure_tests::{Cluster, free_port, tenure_bin};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .join("deploy")
}

/// The `--flags` in `text` that follow a `tenure server` invocation.
fn server_flags(text: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for part in text.split("tenure server").skip(1) {
        // The rest of its line, then the continuation lines (flags, variables).
        let mut lines = part.lines();
        let first = lines.next().unwrap_or_default();
        let rest = lines.take_while(|l| {
            let l = l.trim_start();
            l.starts_with("--") || l.starts_with('$')
        });
        let invocation: String = std::iter::once(first)
            .chain(rest)
            .collect::<Vec<_>>()
            .join(" ");
        for word in invocation.split_whitespace() {
            let word = word.trim_matches(|c| c == '"' || c == ',' || c == '\\');
            if let Some(flag) = word.strip_prefix("--")
                && flag.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                && !flag.is_empty()
            {
                flags.insert(flag.to_owned());
            }
        }
    }
    flags
}

/// The long flags `tenure server --help` lists.
fn known_server_flags() -> BTreeSet<String> {
    let out = Command::new(tenure_bin())
        .args(["server", "--help"])
        .output()
        .expect("run tenure server --help");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| w.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-')))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_flag_the_deploy_examples_pass_exists() {
    let known = known_server_flags();
    assert!(known.contains("data-dir"), "help lists flags: {known:?}");
    let files = ["systemd/tenure.service", "kubernetes/tenure.yaml"];
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(deploy_dir().join(file)).expect("read deploy file");
        let used = server_flags(&text);
        assert!(!used.is_empty(), "{file}: no `tenure server` flags found");
        let unknown: Vec<_> = used.difference(&known).collect();
        assert!(
            unknown.is_empty(),
            "{file} passes unknown flags: {unknown:?}"
        );
        checked += used.len();
    }
    assert!(checked >= 10, "only {checked} flags checked");
}

/// The Kubernetes example runs the image as the Dockerfile builds it: the
/// binary's path, the non-root user, the data volume and the ports.
#[test]
fn the_kubernetes_example_matches_the_image() {
    let read = |f: &str| std::fs::read_to_string(deploy_dir().join(f)).expect("read deploy file");
    let (image, k8s) = (read("container/Dockerfile"), read("kubernetes/tenure.yaml"));
    for (in_image, in_k8s) in [
        (
            "COPY --from=build /out/tenure /usr/local/bin/tenure",
            "exec /usr/local/bin/tenure server",
        ),
        ("USER 10001:10001", "runAsUser: 10001"),
        ("VOLUME [\"/var/lib/tenure\"]", "mountPath: /var/lib/tenure"),
        ("EXPOSE 7100 9100", "containerPort: 9100"),
    ] {
        assert!(image.contains(in_image), "Dockerfile lacks {in_image:?}");
        assert!(k8s.contains(in_k8s), "tenure.yaml lacks {in_k8s:?}");
    }
}

/// The image from the release tarballs (Dockerfile.release) runs the binary
/// the way the built image does (path, non-root user, data volume, ports,
/// entrypoint), unpacks the tarballs tools/dist/server.sh writes (names,
/// version) and checks them against SHA256SUMS first.
#[test]
fn the_release_image_matches_the_image_and_the_tarballs() {
    let read = |f: &str| std::fs::read_to_string(deploy_dir().join(f)).expect("read deploy file");
    let (image, release) = (
        read("container/Dockerfile"),
        read("container/Dockerfile.release"),
    );
    let script = std::fs::read_to_string(deploy_dir().join("../tools/dist/server.sh"))
        .expect("read tools/dist/server.sh");
    for line in [
        "USER 10001:10001",
        "VOLUME [\"/var/lib/tenure\"]",
        "EXPOSE 7100 9100",
        "ENTRYPOINT [\"/usr/local/bin/tenure\"]",
    ] {
        assert!(image.contains(line), "Dockerfile lacks {line:?}");
        assert!(release.contains(line), "Dockerfile.release lacks {line:?}");
    }
    for line in [
        "COPY --from=unpack /out/tenure /usr/local/bin/tenure",
        // The data directory belongs to the user the node runs as.
        "COPY --from=unpack --chown=10001:10001 /out/var/lib/ /var/lib/",
        "install -d -m 0700 /out/var/lib/tenure",
        "sha256sum -c",
        "tarball=\"tenure-$VERSION-$triple.tar.gz\"",
    ] {
        assert!(release.contains(line), "Dockerfile.release lacks {line:?}");
    }
    // The version it unpacks by default is the workspace's.
    let version = format!("ARG VERSION={}\n", env!("CARGO_PKG_VERSION"));
    assert!(
        release.contains(&version),
        "Dockerfile.release lacks {version:?}"
    );
    // Both architectures, named as the script names its tarballs.
    assert!(script.contains("name=\"tenure-$VERSION-$target\""));
    for (arch, triple) in [
        ("amd64", "x86_64-unknown-linux-musl"),
        ("arm64", "aarch64-unknown-linux-musl"),
    ] {
        assert!(
            release.contains(&format!("{arch}) triple={triple} ;;")),
            "Dockerfile.release does not map {arch} to {triple}"
        );
        assert!(
            script.contains(triple),
            "tools/dist/server.sh does not build {triple}"
        );
    }
    // No build stage runs cargo: the binary comes from the tarball only.
    assert!(
        !release.contains("cargo "),
        "Dockerfile.release builds instead of unpacking"
    );
}

/// The check catches a flag the binary does not have.
#[test]
fn an_unknown_flag_is_seen() {
    let used = server_flags("exec tenure server \\\n  --id 1 \\\n  --no-such-flag x\n");
    let known = known_server_flags();
    assert!(used.contains("no-such-flag") && !known.contains("no-such-flag"));
}

#[tokio::test]
async fn the_readiness_probe_passes_on_a_serving_node_and_fails_otherwise() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(Duration::from_secs(10)).await;
    let probe = |endpoint: String| {
        Command::new(tenure_bin())
            .args(["status", "--ready", "--endpoints", &endpoint])
            .status()
            .expect("run tenure status")
    };
    let node = cluster.endpoints()[0].clone();
    assert!(
        probe(node).success(),
        "a node of a serving cluster is ready"
    );
    // Nothing listens there: not ready.
    let closed = format!("127.0.0.1:{}", free_port());
    assert!(!probe(closed).success(), "an unreachable node is not ready");
}
