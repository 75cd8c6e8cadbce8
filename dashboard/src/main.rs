//! `supervisor-dashboard`: watches supervised processes through their control sockets and
//! serves the browser UI. Run with `--help` for the options.

#[cfg(unix)]
const USAGE: &str = "\
usage: supervisor-dashboard [options]

  --target <socket>      a process's control socket (repeatable)
  --targets-dir <dir>    watch every socket in <dir>, as they come and go
  --listen <addr:port>   where to serve the UI (default 127.0.0.1:7070); any address but the
                         loopback needs --tls-cert/--tls-key and a token
  --control              allow commands (restart, pause, ...); read-only without it
  --token-file <file>    require this bearer token (the file's first line)
  --token-env <name>     require the token in this environment variable
  --tls-cert <pem>       serve over TLS with this certificate chain...
  --tls-key <pem>        ...and this key
  --client-ca <pem>      with TLS: require client certificates from this CA (mTLS)
  --config <yaml>        read these settings from a file (the flags above win)
  --text                 print each change instead of serving the UI
";

#[cfg(unix)]
#[tokio::main]
async fn main() {
    use supervisor_dashboard::{Dashboard, TargetSettings};

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (file, text) = match cli::parse(&args) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            print!("{USAGE}");
            return;
        }
        Err(error) => {
            eprintln!("supervisor-dashboard: {error}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let settings = match file.check(|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("supervisor-dashboard: {error}");
            std::process::exit(2);
        }
    };
    if text {
        if settings.targets.is_empty() {
            eprintln!("supervisor-dashboard: --text follows --target sockets only");
            std::process::exit(2);
        }
        cli::print_changes(&settings.targets).await;
        return;
    }
    let control = settings.control;
    let dashboard = match Dashboard::start(settings, TargetSettings::default()).await {
        Ok(dashboard) => dashboard,
        Err(error) => {
            eprintln!("supervisor-dashboard: cannot listen: {error}");
            std::process::exit(1);
        }
    };
    println!(
        "dashboard at {} ({})",
        dashboard.url(),
        if control {
            "control enabled"
        } else {
            "read-only"
        }
    );
    let _ = tokio::signal::ctrl_c().await;
    dashboard.stop().await;
}

#[cfg(unix)]
mod cli {
    use std::path::PathBuf;

    use supervisor_dashboard::{AuthSource, DashboardFile, Target, TargetSettings, TlsFiles};

    const FLAGS: &[&str] = &[
        "--target",
        "--targets-dir",
        "--listen",
        "--control",
        "--token-file",
        "--token-env",
        "--tls-cert",
        "--tls-key",
        "--client-ca",
        "--config",
        "--text",
        "--help",
    ];

    /// The settings the arguments give (over those of `--config`), and whether to print
    /// changes as text; `None` for `--help`.
    pub(crate) fn parse(args: &[String]) -> Result<Option<(DashboardFile, bool)>, String> {
        let mut file = DashboardFile::default();
        let mut from_flags = DashboardFile::default();
        let (mut cert, mut key, mut ca) = (None, None, None);
        let mut auth: Option<AuthSource> = None;
        let mut text = false;
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--help" | "-h" => return Ok(None),
                "--target" => from_flags.targets.push(PathBuf::from(value()?)),
                "--targets-dir" => from_flags.targets_dir = Some(PathBuf::from(value()?)),
                "--listen" => from_flags.listen = Some(value()?),
                "--control" => from_flags.control = true,
                "--text" => text = true,
                "--token-file" => {
                    auth = Some(AuthSource {
                        token_file: Some(PathBuf::from(value()?)),
                        token_env: None,
                    })
                }
                "--token-env" => {
                    auth = Some(AuthSource {
                        token_file: None,
                        token_env: Some(value()?),
                    })
                }
                "--tls-cert" => cert = Some(PathBuf::from(value()?)),
                "--tls-key" => key = Some(PathBuf::from(value()?)),
                "--client-ca" => ca = Some(PathBuf::from(value()?)),
                "--config" => {
                    let path = PathBuf::from(value()?);
                    file = DashboardFile::load(&path).map_err(|e| e.to_string())?;
                }
                other => {
                    let hint = FLAGS
                        .iter()
                        .find(|known| close(other, known))
                        .map(|known| format!(" (did you mean `{known}`?)"))
                        .unwrap_or_default();
                    return Err(format!("unknown argument `{other}`{hint}"));
                }
            }
        }
        file.targets.extend(from_flags.targets);
        file.targets_dir = from_flags.targets_dir.or(file.targets_dir);
        file.listen = from_flags.listen.or(file.listen);
        file.control |= from_flags.control;
        if auth.is_some() {
            file.auth = auth;
        }
        match (cert, key) {
            (Some(cert), Some(key)) => {
                file.tls = Some(TlsFiles {
                    cert,
                    key,
                    client_ca: ca,
                })
            }
            (None, None) if ca.is_none() => {}
            (None, None) => return Err("--client-ca needs --tls-cert and --tls-key".to_owned()),
            _ => return Err("--tls-cert and --tls-key go together".to_owned()),
        }
        Ok(Some((file, text)))
    }

    /// One edit (a letter changed, added or dropped) apart, or a prefix.
    fn close(given: &str, known: &str) -> bool {
        let (a, b): (Vec<char>, Vec<char>) = (given.chars().collect(), known.chars().collect());
        if known.starts_with(given) && given.len() > 3 {
            return true;
        }
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut previous = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let here = row[j + 1];
                row[j + 1] = (previous + usize::from(ca != cb))
                    .min(row[j] + 1)
                    .min(here + 1);
                previous = here;
            }
        }
        row[b.len()] <= 2
    }

    /// `--text`: each target's changes, one line each.
    pub(crate) async fn print_changes(paths: &[PathBuf]) {
        let (changes, mut changed) = tokio::sync::mpsc::unbounded_channel();
        let mut watchers = Vec::new();
        for (index, path) in paths.iter().enumerate() {
            let mut target = Target::watch(path, TargetSettings::default());
            let changes = changes.clone();
            watchers.push(tokio::spawn(async move {
                loop {
                    target.changed().await;
                    if changes.send((index, target.status())).is_err() {
                        return;
                    }
                }
            }));
        }
        drop(changes);
        let mut shown = std::collections::HashMap::new();
        while let Some((index, status)) = changed.recv().await {
            let path = paths[index].display();
            let children = status.tree.as_ref().map_or(0, |t| t.children.len());
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
            // A retry that changes nothing prints nothing.
            if shown.get(&index) != Some(&line) {
                println!("{line}");
                shown.insert(index, line);
            }
        }
    }
}

#[cfg(not(unix))]
fn main() {
    eprintln!("supervisor-dashboard needs Unix domain sockets");
    std::process::exit(2);
}
