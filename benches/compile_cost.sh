#!/usr/bin/env bash
# Compile cost of the DSL: a crate with 50 #[service] fns and one supervisor! tree against the
# same tree written by hand. Prints clean and incremental `cargo build` times of each crate
# (dependencies are built once beforehand and shared, so only the crate itself is timed).
#
#   bash benches/compile_cost.sh [N]     (N services, 50 by default)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-50}
work=$root/target/compile-cost
rm -rf "$work" && mkdir -p "$work"

manifest() {
    cat > "$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

# Its own workspace, though it sits under this one's target/.
[workspace]

[dependencies]
supervisor = { path = "$root/supervisor" }
TOML
}

mkdir -p "$work/dsl/src" "$work/hand/src"
manifest dsl
manifest hand
{
    echo 'use supervisor::prelude::*;'
    for i in $(seq 0 $((n - 1))); do
        cat <<RS
#[service(restart = "on_failure", backoff(base = "100ms", max = "30s"), shutdown(timeout = "2s"))]
async fn s$i(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}
RS
    done
    echo 'fn main() {'
    echo '    let tree = supervisor! {'
    echo '        name = "bot",'
    for i in $(seq 0 $((n - 1))); do
        if [ "$i" -eq 0 ]; then echo "        s$i(),"; else echo "        s$i() after(s$((i - 1))),"; fi
    done
    echo '    };'
    echo '    assert_eq!(tree.startup_order().len(), '"$n"');'
    echo '}'
} > "$work/dsl/src/main.rs"
{
    echo 'use std::time::Duration;'
    echo 'use supervisor::prelude::*;'
    for i in $(seq 0 $((n - 1))); do
        cat <<RS
async fn s$i(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}
RS
    done
    echo 'fn child(spec: ChildSpec) -> ChildSpec {'
    echo '    spec.with_restart(RestartPolicy::OnFailure)'
    echo '        .with_backoff(BackoffConfig::new(Duration::from_millis(100), Duration::from_secs(30)))'
    echo '        .with_shutdown(ShutdownPolicy::Timeout(Duration::from_secs(2)))'
    echo '}'
    echo 'fn main() {'
    echo '    let spec = SupervisorSpec::builder("bot")'
    for i in $(seq 0 $((n - 1))); do
        if [ "$i" -eq 0 ]; then echo "        .child(child(service_fn(\"s$i\", s$i)))"; else echo "        .child(child(service_fn(\"s$i\", s$i)).after([\"s$((i - 1))\"]))"; fi
    done
    echo '        .build()'
    echo '        .unwrap();'
    echo '    assert_eq!(spec.startup_order().len(), '"$n"');'
    echo '}'
} > "$work/hand/src/main.rs"

export CARGO_TARGET_DIR=$work/target
for crate in dsl hand; do
    (cd "$work/$crate" && cargo build -q 2>/dev/null) # dependencies, not timed
done
millis() { local t0; t0=$(date +%s%N); "$@" >/dev/null 2>&1; echo $((($(date +%s%N) - t0) / 1000000)); }
printf '%-6s %10s %16s\n' crate "clean (ms)" "incremental (ms)"
for crate in dsl hand; do
    cd "$work/$crate"
    cargo clean -q -p "$crate"
    clean=$(millis cargo build -q)
    touch src/main.rs
    incremental=$(millis cargo build -q)
    printf '%-6s %10d %16d\n' "$crate" "$clean" "$incremental"
done
