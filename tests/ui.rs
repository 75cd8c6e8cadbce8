//! The macros' compile errors and passing uses, checked with trybuild.
//!
//! Snapshots (`ui-tests/**/*.stderr`) come from rustc 1.95.0, the one toolchain these machines
//! have. Regenerate with `TRYBUILD=overwrite cargo test --test ui` only after reading the diff;
//! CI never sets `TRYBUILD`.

#[test]
fn ui_fail() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui-tests/service/*.rs");
    cases.compile_fail("ui-tests/tree/*.rs");
    cases.compile_fail("ui-tests/testing/*.rs");
    cases.compile_fail("ui-tests/mailbox/*.rs");
}

#[test]
fn ui_pass() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui-tests/pass/*.rs");
}
