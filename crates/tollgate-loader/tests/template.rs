//! The bare template, as built: no configuration, so it says what it is and exits 2. Building
//! this test also builds the `tollgate-loader` binary the server's builder tests copy.

use std::process::{Command, Stdio};

#[test]
fn bare_template_exits_2_with_its_message() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_tollgate-loader")).stdin(Stdio::null()).output().expect("run tollgate-loader");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this is a loader template; build a loader with POST /v1/builder/build"),
        "stderr: {stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn template_holds_the_marker_exactly_once() {
    let bytes = std::fs::read(env!("CARGO_BIN_EXE_tollgate-loader")).expect("read tollgate-loader");
    let at = tollgate_core::loader_config::find_marker(&bytes).expect("one marker");
    assert_eq!(tollgate_core::loader_config::read(&bytes[at..]), Ok(None));
}

/// A copy with a configuration written in reads it back at run time (the optimiser did not fold
/// the region into its initial zeros): it shows the title and tries the server it names.
#[test]
fn a_configured_copy_reads_its_configuration() {
    use tollgate_core::loader_config::{self, AuthType, LoaderConfig};

    let mut bytes = std::fs::read(env!("CARGO_BIN_EXE_tollgate-loader")).expect("read tollgate-loader");
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = LoaderConfig {
        url,
        app_id: "app_test".into(),
        api_key: "secret-api-key-never-printed".into(),
        public_key_pem: "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n".into(),
        title: "Configured Title".into(),
        auth_type: AuthType::License,
        file_id: None,
    };
    loader_config::write(&mut bytes, &config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("configured");
    {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o755);
        options.open(&path).unwrap().write_all(&bytes).unwrap();
    }
    let out = Command::new(&path).stdin(Stdio::null()).output().expect("run the configured loader");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Configured Title"), "stderr: {stderr}");
    assert!(stderr.contains("cannot reach the server"), "stderr: {stderr}");
    assert!(!stderr.contains("secret-api-key-never-printed"), "stderr: {stderr}");
    assert_eq!(out.status.code(), Some(5), "stderr: {stderr}");
}
