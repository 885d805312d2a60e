//! One version for the whole project: `version` in Cargo.toml's
//! `[workspace.package]` is the source, and every manifest that repeats it
//! (the published crates' path dependencies, the Python, Node, WebAssembly and
//! Kotlin packages) must say the same.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// The project's version: `[workspace.package] version`.
fn project_version() -> String {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml parses");
    manifest["workspace"]["package"]["version"]
        .as_str()
        .expect("a version string")
        .to_owned()
}

/// Every place that repeats the version, with what it says.
fn repeated_versions() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml parses");
    for dep in ["tenure", "tenure-proto"] {
        let v = manifest["workspace"]["dependencies"][dep]["version"]
            .as_str()
            .unwrap_or("(none: cannot be published)");
        found.push((
            format!("Cargo.toml [workspace.dependencies] {dep}"),
            v.to_owned(),
        ));
    }
    let pyproject: toml::Table = read("bindings/python/pyproject.toml")
        .parse()
        .expect("pyproject.toml parses");
    found.push((
        "bindings/python/pyproject.toml".into(),
        pyproject["project"]["version"]
            .as_str()
            .unwrap_or("(none)")
            .to_owned(),
    ));
    for package in ["bindings/node/package.json", "bindings/wasm/package.json"] {
        if !root().join(package).exists() {
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(&read(package)).expect("JSON");
        let v = json["version"].as_str().unwrap_or("(none)").to_owned();
        found.push((package.into(), v));
    }
    found.push((
        "bindings/kotlin/pom.xml".into(),
        pom_version(&read("bindings/kotlin/pom.xml")),
    ));
    found
}

/// The project's own `<version>` in a POM: the first one after `<artifactId>`
/// at the top level (before any `<dependencies>` or `<parent>` content).
fn pom_version(pom: &str) -> String {
    let head = pom.split("<dependencies>").next().unwrap_or(pom);
    let head = head.split("<properties>").next().unwrap_or(head);
    head.split("<version>")
        .nth(1)
        .and_then(|rest| rest.split("</version>").next())
        .unwrap_or("(none)")
        .trim()
        .to_owned()
}

#[test]
fn every_manifest_carries_the_project_version() {
    let version = project_version();
    let wrong: Vec<_> = repeated_versions()
        .into_iter()
        .filter(|(_, v)| *v != version)
        .collect();
    assert!(
        wrong.is_empty(),
        "the project version is {version} ([workspace.package] in Cargo.toml); these differ: {wrong:?}"
    );
}

/// The check reads what it claims to: a POM whose own version differs is seen.
#[test]
fn a_different_pom_version_is_seen() {
    let pom = "<project><groupId>g</groupId><artifactId>a</artifactId>\
               <version>9.9.9</version><properties><x.version>0.1.0</x.version>\
               </properties><dependencies><dependency><version>1</version>\
               </dependency></dependencies></project>";
    assert_eq!(pom_version(pom), "9.9.9");
    assert_ne!(pom_version(pom), project_version());
}
