//! The relay's HTTP and WebSocket side against a real tree: read-only mode, tokens, origin
//! checks, commands with their audit and idempotency, TLS, and a directory of targets.

#![cfg(unix)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use supervisor::ipc::IpcServer;
use supervisor::prelude::*;
use supervisor_dashboard::{Dashboard, DashboardFile, TargetSettings};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const TOKEN: &str = "s3cret-token-for-tests";

/// Everything a test waits for is bounded by this watchdog.
const WATCHDOG: Duration = Duration::from_secs(20);

fn dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("supervisor-web-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn bot() -> SupervisorHandle {
    let spec = SupervisorSpec::builder("bot")
        .child(service_fn(
            "feed",
            |ctx| async move { ctx.cancelled().await },
        ))
        .child(service_fn("router", |ctx| async move { ctx.cancelled().await }).after(["feed"]))
        .build()
        .unwrap();
    let config = SupervisorConfig::default().without_signal_handler();
    Supervisor::start_with_config(spec, config).await.unwrap()
}

struct Setup {
    tree: SupervisorHandle,
    server: IpcServer,
    dashboard: Dashboard,
    socket: String,
}

async fn setup(test: &str, yaml: &str) -> Setup {
    let socket = dir(test).join("bot.sock");
    let tree = bot().await;
    let server = IpcServer::start(&tree, &socket).unwrap();
    let yaml = format!(
        "listen: 127.0.0.1:0\ntargets: [{}]\n{yaml}",
        socket.display()
    );
    let settings = DashboardFile::from_yaml(&yaml)
        .unwrap()
        .check(|name| (name == "TOKEN").then(|| TOKEN.to_owned()))
        .unwrap();
    let dashboard = Dashboard::start(settings, TargetSettings::default())
        .await
        .unwrap();
    Setup {
        tree,
        server,
        dashboard,
        socket: socket.display().to_string(),
    }
}

impl Setup {
    async fn end(self) {
        self.dashboard.stop().await;
        self.server.stop().await;
        self.tree.shutdown_tree("test", "done").await;
    }
}

/// One HTTP/1.1 request; the status and the body as JSON (`Null` if it is not JSON).
async fn http<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, request: &str) -> (u16, Value) {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn get(address: SocketAddr, path: &str, headers: &[&str]) -> (u16, Value) {
    let stream = TcpStream::connect(address).await.unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    http(
        stream,
        &format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n{extra}Connection: close\r\n\r\n"),
    )
    .await
}

async fn post(address: SocketAddr, path: &str, headers: &[&str], body: &Value) -> (u16, Value) {
    let stream = TcpStream::connect(address).await.unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let body = body.to_string();
    http(
        stream,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn ws(address: SocketAddr, headers: &[(&str, &str)]) -> Ws {
    let mut request = format!("ws://{address}/ws").into_client_request().unwrap();
    for (name, value) in headers {
        let name =
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn next(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(WATCHDOG, ws.next())
            .await
            .expect("a message within the watchdog")
        {
            Some(Ok(WsMessage::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// The next message satisfying `wanted`, within the watchdog.
async fn until(ws: &mut Ws, wanted: impl Fn(&Value) -> bool) -> Value {
    let wait = async {
        loop {
            let message = next(ws).await.expect("the connection stays open");
            if wanted(&message) {
                return message;
            }
        }
    };
    tokio::time::timeout(WATCHDOG, wait)
        .await
        .expect("the message within the watchdog")
}

async fn say(ws: &mut Ws, message: Value) {
    ws.send(WsMessage::Text(message.to_string().into()))
        .await
        .unwrap();
}

#[tokio::test]
async fn read_only_serves_the_tree_and_refuses_commands() {
    let s = setup("read-only", "").await;
    let address = s.dashboard.address();
    let mut browser = ws(address, &[]).await;
    let welcome = next(&mut browser).await.unwrap();
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["control"], false);
    assert_eq!(welcome["auth_required"], false);
    // Every child, flattened with its place in the tree.
    let tree = until(&mut browser, |m| m["type"] == "tree").await;
    let paths: Vec<&str> = tree["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["child"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["bot/feed", "bot/router"]);
    assert_eq!(tree["changed"][1]["child"]["after"], json!(["feed"]));

    let command = json!({"target": s.socket, "path": "bot/feed", "action": "restart",
        "reason": "test", "command_id": "c-1"});
    let (status, answer) = post(address, "/api/command", &[], &command).await;
    assert_eq!(status, 403);
    assert!(
        answer["error"].as_str().unwrap().contains("read-only"),
        "{answer}"
    );
    let mut over_ws = command.clone();
    over_ws["type"] = json!("command");
    say(&mut browser, over_ws).await;
    let result = until(&mut browser, |m| m["type"] == "command_result").await;
    assert_eq!(result["result"]["ok"], false);
    // Nothing was restarted.
    let state = s.tree.current_state().await;
    assert_eq!(state.find("bot/feed").unwrap().attempt, 1);
    let (status, targets) = get(address, "/api/targets", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(targets["control"], false);
    s.end().await;
}

#[tokio::test]
async fn without_the_token_nothing_is_served_and_a_wrong_one_is_refused() {
    let s = setup("token", "control: true\nauth: {token_env: TOKEN}").await;
    let address = s.dashboard.address();
    let (status, answer) = get(address, "/api/targets", &[]).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (
            401,
            Some("a token is needed: Authorization: Bearer <token>")
        )
    );
    let (status, answer) = get(
        address,
        "/api/targets",
        &["Authorization: Bearer guess-guess-guess"],
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("wrong token"))
    );
    let bearer = format!("Authorization: Bearer {TOKEN}");
    let (status, targets) = get(address, "/api/targets", &[&bearer]).await;
    assert_eq!(status, 200);
    assert_eq!(targets["targets"][0]["target"], s.socket.as_str());
    let command = json!({"target": s.socket, "path": "bot/feed", "action": "restart",
        "reason": "test", "command_id": "c-1"});
    let (status, _) = post(address, "/api/command", &[], &command).await;
    assert_eq!(status, 401, "no command without the token");
    // The page itself holds nothing secret: it is served, and asks for the token.
    let stream = TcpStream::connect(address).await.unwrap();
    let request = format!("GET / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let (status, _) = http(stream, &request).await;
    assert_eq!(status, 200);

    // A browser: nothing until it authenticates; a wrong token ends the connection.
    let mut browser = ws(address, &[]).await;
    assert_eq!(next(&mut browser).await.unwrap()["auth_required"], true);
    say(
        &mut browser,
        json!({"type": "auth", "token": "guess-guess-guess"}),
    )
    .await;
    assert_eq!(next(&mut browser).await.unwrap()["type"], "auth_failed");
    assert_eq!(next(&mut browser).await, None, "closed");
    // Anything but the token first is refused the same way.
    let mut browser = ws(address, &[]).await;
    next(&mut browser).await.unwrap();
    let mut sneaky = command.clone();
    sneaky["type"] = json!("command");
    say(&mut browser, sneaky).await;
    assert_eq!(next(&mut browser).await.unwrap()["type"], "auth_failed");
    assert_eq!(
        s.tree
            .current_state()
            .await
            .find("bot/feed")
            .unwrap()
            .attempt,
        1
    );
    // The right one: the tree follows.
    let mut browser = ws(address, &[]).await;
    next(&mut browser).await.unwrap();
    say(&mut browser, json!({"type": "auth", "token": TOKEN})).await;
    assert_eq!(next(&mut browser).await.unwrap()["type"], "authenticated");
    until(&mut browser, |m| m["type"] == "tree").await;
    // A script may send the header instead.
    let mut script = ws(address, &[("authorization", &format!("Bearer {TOKEN}"))]).await;
    assert_eq!(next(&mut script).await.unwrap()["auth_required"], false);
    s.end().await;
}

#[tokio::test]
async fn other_sites_pages_and_other_host_names_are_refused() {
    let s = setup("origin", "control: true").await;
    let address = s.dashboard.address();
    let (status, answer) = get(address, "/api/targets", &["Origin: http://evil.example"]).await;
    assert_eq!(status, 403, "{answer}");
    let own = format!("Origin: http://{address}");
    assert_eq!(get(address, "/api/targets", &[&own]).await.0, 200);
    // A rebinding attack's name for 127.0.0.1.
    let stream = TcpStream::connect(address).await.unwrap();
    let request =
        "GET /api/targets HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n";
    let (status, answer) = http(stream, request).await;
    assert_eq!(status, 403);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("only to localhost")
    );
    let mut request = format!("ws://{address}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
    s.end().await;
}

#[tokio::test]
async fn a_command_is_carried_out_once_per_id_and_shows_in_the_audit_log() {
    let s = setup("command", "control: true").await;
    let mut browser = ws(s.dashboard.address(), &[]).await;
    until(&mut browser, |m| m["type"] == "tree").await;
    let command = json!({"type": "command", "target": s.socket, "path": "bot/feed",
        "action": "restart", "reason": "stale quotes", "operator": "alice", "command_id": "c-1"});
    say(&mut browser, command.clone()).await;
    let result = until(&mut browser, |m| m["type"] == "command_result").await;
    assert_eq!(result["result"]["ok"], true, "{result}");
    assert_eq!(result["result"]["repeated"], false);
    assert_eq!(result["result"]["receipt"]["path"], "bot/feed");
    // The audit event, with who and why, and the restart in the tree, in whichever order
    // they come.
    let (mut audit, mut restarted) = (None, false);
    while audit.is_none() || !restarted {
        let message = until(&mut browser, |m| {
            m["type"] == "events" || m["type"] == "tree"
        })
        .await;
        if message["type"] == "events" {
            let events = message["events"].as_array().unwrap();
            if let Some(event) = events.iter().find(|e| e["kind"] == "command") {
                audit = Some(event["text"].as_str().unwrap().to_owned());
            }
        } else {
            restarted |= message["changed"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["child"]["path"] == "bot/feed" && c["child"]["attempt"] == 2);
        }
    }
    let text = audit.unwrap();
    assert!(
        text.contains("dashboard:alice") && text.contains("stale quotes"),
        "{text}"
    );
    // The same id again (a retry after a lost answer): answered, not carried out twice.
    say(&mut browser, command).await;
    let again = until(&mut browser, |m| m["type"] == "command_result").await;
    assert_eq!(again["result"]["repeated"], true);
    assert_eq!(
        s.tree
            .current_state()
            .await
            .find("bot/feed")
            .unwrap()
            .attempt,
        2
    );
    // A refused one says why.
    let (status, answer) = post(
        s.dashboard.address(),
        "/api/command",
        &[],
        &json!({"target": s.socket, "path": "bot/fed", "action": "restart", "reason": "typo",
            "command_id": "c-2"}),
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("did you mean `bot/feed`"),
        "{answer}"
    );
    let (status, answer) = post(
        s.dashboard.address(),
        "/api/command",
        &[],
        &json!({"target": s.socket, "path": "bot/feed", "action": "restart", "reason": " ",
            "command_id": "c-3"}),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("a reason is needed"))
    );
    s.end().await;
}

#[tokio::test]
async fn over_tls_with_a_token_the_dashboard_may_listen_beyond_the_loopback() {
    let dir = dir("tls");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    let socket = dir.join("bot.sock");
    let tree = bot().await;
    let server = IpcServer::start(&tree, &socket).unwrap();
    let yaml = format!(
        "listen: 0.0.0.0:0\ntargets: [{}]\ntls: {{cert: {d}/cert.pem, key: {d}/key.pem}}\nauth: {{token_file: {d}/token}}",
        socket.display(),
        d = dir.display()
    );
    let file = DashboardFile::from_yaml(&yaml).unwrap();
    let settings = file.check(|_| None).unwrap();
    let dashboard = Dashboard::start(settings, TargetSettings::default())
        .await
        .unwrap();
    assert!(dashboard.url().starts_with("https://"));
    let address = SocketAddr::from(([127, 0, 0, 1], dashboard.address().port()));

    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector
        .connect(name.clone(), TcpStream::connect(address).await.unwrap())
        .await
        .unwrap();
    let request = format!(
        "GET /api/targets HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    );
    let (status, targets) = http(tls, &request).await;
    assert_eq!(status, 200);
    assert_eq!(
        targets["targets"][0]["target"],
        socket.display().to_string()
    );
    let tls = connector
        .connect(name, TcpStream::connect(address).await.unwrap())
        .await
        .unwrap();
    let request = "GET /api/targets HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    assert_eq!(http(tls, request).await.0, 401);
    // Plain HTTP on the TLS port gets nothing.
    let (status, _) = get(address, "/api/targets", &[]).await;
    assert_eq!(status, 0);

    // Without TLS or without the token, that address is refused before anything is bound.
    let no_tls = format!(
        "listen: 0.0.0.0:0\ntargets: [a.sock]\nauth: {{token_file: {}/token}}",
        dir.display()
    );
    let error = DashboardFile::from_yaml(&no_tls)
        .unwrap()
        .check(|_| None)
        .unwrap_err();
    assert!(error.to_string().contains("needs TLS"), "{error}");
    dashboard.stop().await;
    server.stop().await;
    tree.shutdown_tree("test", "done").await;
}

#[tokio::test]
async fn every_socket_in_the_directory_is_watched_as_they_come() {
    let dir = dir("directory");
    let first = bot().await;
    let first_server = IpcServer::start(&first, dir.join("a.sock")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a socket").unwrap();
    let yaml = format!("listen: 127.0.0.1:0\ntargets_dir: {}", dir.display());
    let settings = DashboardFile::from_yaml(&yaml)
        .unwrap()
        .check(|_| None)
        .unwrap();
    let dashboard = Dashboard::start(settings, TargetSettings::default())
        .await
        .unwrap();
    let mut browser = ws(dashboard.address(), &[]).await;
    let listed = until(&mut browser, |m| m["type"] == "targets").await;
    assert_eq!(
        listed["targets"],
        json!([dir.join("a.sock").display().to_string()])
    );
    // A second process comes up: it is picked up at the next look at the directory.
    let second = bot().await;
    let second_server = IpcServer::start(&second, dir.join("b.sock")).unwrap();
    let listed = until(&mut browser, |m| {
        m["type"] == "targets" && m["targets"].as_array().unwrap().len() == 2
    })
    .await;
    assert_eq!(
        listed["targets"][1],
        dir.join("b.sock").display().to_string()
    );
    // It ends: its report arrives and it stays listed to show it.
    second.shutdown_tree("operator", "maintenance").await;
    let ended = until(&mut browser, |m| {
        m["type"] == "target"
            && m["target"] == dir.join("b.sock").display().to_string()
            && !m["report"].is_null()
    })
    .await;
    assert_eq!(ended["report"]["reason"], "maintenance");
    drop(second_server);
    dashboard.stop().await;
    first_server.stop().await;
    first.shutdown_tree("test", "done").await;
}

#[tokio::test]
async fn with_a_client_ca_only_clients_with_its_certificates_are_served() {
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, ServerName};
    let dir = dir("mtls");
    let server_cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let mut client_params = rcgen::CertificateParams::new(vec!["operator".to_owned()]).unwrap();
    client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params.signed_by(&client_key, &ca).unwrap();
    std::fs::write(dir.join("cert.pem"), server_cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), server_cert.signing_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    let socket = dir.join("bot.sock");
    let tree = bot().await;
    let server = IpcServer::start(&tree, &socket).unwrap();
    let yaml = format!(
        "listen: 127.0.0.1:0\ntargets: [{}]\ntls: {{cert: {d}/cert.pem, key: {d}/key.pem, client_ca: {d}/ca.pem}}",
        socket.display(),
        d = dir.display()
    );
    let settings = DashboardFile::from_yaml(&yaml)
        .unwrap()
        .check(|_| None)
        .unwrap();
    let dashboard = Dashboard::start(settings, TargetSettings::default())
        .await
        .unwrap();
    let address = dashboard.address();

    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(server_cert.cert.der().clone()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = || {
        tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
    };
    let request = "GET /api/targets HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let name = ServerName::try_from("localhost").unwrap();
    // With the CA's certificate: served.
    let with_cert = builder()
        .with_client_auth_cert(
            vec![client_cert.der().clone()],
            PrivateKeyDer::Pkcs8(client_key.serialize_der().into()),
        )
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(with_cert))
        .connect(name.clone(), TcpStream::connect(address).await.unwrap())
        .await
        .unwrap();
    assert_eq!(http(tls, request).await.0, 200);
    // Without one: no answer (the handshake fails, now or at the first read).
    let without = tokio_rustls::TlsConnector::from(Arc::new(builder().with_no_client_auth()));
    let answered = match without
        .connect(name, TcpStream::connect(address).await.unwrap())
        .await
    {
        Ok(mut tls) => {
            let _ = tls.write_all(request.as_bytes()).await;
            let mut answer = Vec::new();
            let _ = tls.read_to_end(&mut answer).await;
            !answer.is_empty()
        }
        Err(_) => false,
    };
    assert!(!answered, "a client without a certificate is not served");
    dashboard.stop().await;
    server.stop().await;
    tree.shutdown_tree("test", "done").await;
}
