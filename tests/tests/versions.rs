//! One version for the whole project: `version` in Cargo.toml's
//! `[workspace.package]` is the source, and every manifest that repeats it
//! (the published crates' path dependencies, the Python, Node, WebAssembly and
//! Kotlin packages) must say the same. For Node that is the main package, every
//! per-platform addon package under bindings/node/npm/, the exact versions the
//! main package's optionalDependencies pin them at, and package-lock.json's
//! copies of both.

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
    found.extend(node_versions());
    found.push((
        "bindings/kotlin/pom.xml".into(),
        pom_version(&read("bindings/kotlin/pom.xml")),
    ));
    found
}

fn json(rel: &str) -> serde_json::Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The Node platform packages: the directories of bindings/node/npm/.
fn node_platform_packages() -> Vec<String> {
    let dir = root().join("bindings/node/npm");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.join("package.json").is_file())
        .map(|path| {
            path.file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// What the Node packages say beyond the main package's `version`: each
/// platform package's version, the version the main package's
/// optionalDependencies pin each at (every platform package must be pinned,
/// and nothing else), and package-lock.json's copies of both.
fn node_versions() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let main = json("bindings/node/package.json");
    let lock = json("bindings/node/package-lock.json");
    let optional = main["optionalDependencies"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let lock_packages = &lock["packages"];
    found.push((
        "bindings/node/package-lock.json packages[\"\"]".into(),
        lock_packages[""]["version"]
            .as_str()
            .unwrap_or("(none)")
            .to_owned(),
    ));
    let mut names = Vec::new();
    for dir in node_platform_packages() {
        let rel = format!("bindings/node/npm/{dir}/package.json");
        let package = json(&rel);
        let name = package["name"].as_str().unwrap_or("(no name)").to_owned();
        found.push((
            rel,
            package["version"].as_str().unwrap_or("(none)").to_owned(),
        ));
        found.push((
            format!("bindings/node/package.json optionalDependencies {name}"),
            optional
                .get(&name)
                .and_then(|v| v.as_str())
                .unwrap_or("(not listed)")
                .to_owned(),
        ));
        found.push((
            format!("bindings/node/package-lock.json node_modules/{name}"),
            lock_packages[format!("node_modules/{name}")]["version"]
                .as_str()
                .unwrap_or("(not listed)")
                .to_owned(),
        ));
        names.push(name);
    }
    for name in optional.keys().filter(|name| !names.contains(name)) {
        found.push((
            format!("bindings/node/package.json optionalDependencies {name}"),
            "(no such package under bindings/node/npm/)".into(),
        ));
    }
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

/// The Node check reads what it claims to: all three platform packages, each
/// pinned by the main package.
#[test]
fn every_node_platform_package_is_checked() {
    let found = node_versions();
    for platform in ["linux-arm64-gnu", "linux-x64-gnu", "linux-x64-musl"] {
        for place in [
            format!("bindings/node/npm/{platform}/package.json"),
            format!("bindings/node/package.json optionalDependencies tenure-{platform}"),
            format!("bindings/node/package-lock.json node_modules/tenure-{platform}"),
        ] {
            assert!(
                found.iter().any(|(p, _)| *p == place),
                "{place} is not checked: {found:?}"
            );
        }
    }
}
