//! `supervisor-dashboard --target <socket> [--target <socket> ...]`: watches supervised
//! processes through their control sockets and prints each change of their trees. (The
//! browser UI comes on top of the same watchers.)

#[cfg(unix)]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    use supervisor_dashboard::{Target, TargetSettings};

    let args: Vec<String> = std::env::args().skip(1).collect();
    let paths: Vec<&String> = args
        .iter()
        .zip(args.iter().skip(1))
        .filter(|(flag, _)| *flag == "--target")
        .map(|(_, path)| path)
        .collect();
    if paths.is_empty() {
        eprintln!("usage: supervisor-dashboard --target <socket> [--target <socket> ...]");
        std::process::exit(2);
    }
    let (changes, mut changed) = tokio::sync::mpsc::unbounded_channel();
    let mut targets = Vec::new();
    for (index, path) in paths.into_iter().enumerate() {
        let mut target = Target::watch(path, TargetSettings::default());
        let changes = changes.clone();
        let path = path.clone();
        targets.push(tokio::spawn(async move {
            loop {
                target.changed().await;
                if changes
                    .send((index, path.clone(), target.status()))
                    .is_err()
                {
                    return;
                }
            }
        }));
    }
    drop(changes);
    // Each target's last line: a retry that changes nothing prints nothing.
    let mut shown: std::collections::HashMap<usize, String> = std::collections::HashMap::new();
    while let Some((index, path, status)) = changed.recv().await {
        let tree = status.tree.as_ref();
        let children = tree.map_or(0, |t| t.children.len());
        let mut line = match (&status.process, status.connected) {
            (Some(process), true) => format!(
                "{path}: {} (pid {}), {children} children",
                process.tree, process.pid
            ),
            _ => format!(
                "{path}: not connected ({})",
                status.last_error.as_deref().unwrap_or("connecting")
            ),
        };
        if let (true, Some(event)) = (status.connected, status.events.back()) {
            line.push_str(&format!(
                "\n  [{}] {}: {}",
                event.seq, event.path, event.text
            ));
        }
        if shown.get(&index) != Some(&line) {
            println!("{line}");
            shown.insert(index, line);
        }
    }
}

#[cfg(not(unix))]
fn main() {
    eprintln!("supervisor-dashboard needs Unix domain sockets");
    std::process::exit(2);
}
