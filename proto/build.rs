//! Compiles the .proto files with a vendored protoc unless $PROTOC is set.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => std::path::PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    // The peer API only with the `peer` feature (the server's).
    let mut protos = vec!["proto/tenure/v1/lock.proto"];
    if std::env::var_os("CARGO_FEATURE_PEER").is_some() {
        protos.push("proto/tenure/raft/v1/raft.proto");
    }
    tonic_prost_build::configure()
        // No `connect()` on the generated clients: it would tie the crate to
        // tonic's HTTP/2 transport, which wasm does not have.
        .build_transport(false)
        .compile_with_config(config, &protos, &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
