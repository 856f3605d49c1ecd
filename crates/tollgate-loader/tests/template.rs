//! The bare template, as built: no configuration, so it says what it is and exits 2. Building
//! this test also builds the `tollgate-loader` binary the server's builder tests copy.

use std::process::{Command, Stdio};

#[test]
fn bare_template_exits_2_with_its_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate-loader"))
        .stdin(Stdio::null())
        .output()
        .expect("run tollgate-loader");
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
