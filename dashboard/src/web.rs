//! The browser's side: the embedded page, a WebSocket streaming each target's changes and
//! carrying commands, and a small JSON API for scripts. Every request is checked: the `Host`
//! (a loopback listener answers only to loopback names, against DNS rebinding), the `Origin`
//! (no other site's page may use the API), then the token if one is set.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Json, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use supervisor::ipc::{ACTIONS, CommandRequest};
use tokio::sync::mpsc;

use crate::auth::Token;
use crate::relay::Relay;
use crate::target::CommandFailure;
use crate::view::Seen;

/// How often a browser's view is brought up to date.
const TICK: Duration = Duration::from_millis(200);

/// A browser that takes longer than this to accept a message is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest message a browser may send.
const MAX_MESSAGE: usize = 16 * 1024;

const INDEX: &str = include_str!("../ui/index.html");
const SCRIPT: &str = include_str!("../ui/app.js");
const STYLE: &str = include_str!("../ui/app.css");

/// What every request shares.
pub(crate) struct Web {
    pub(crate) relay: Relay,
    pub(crate) token: Option<Token>,
    pub(crate) control: bool,
    /// A loopback listener answers only to loopback host names.
    pub(crate) loopback: bool,
}

/// The routes.
pub(crate) fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { page(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { page(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/app.css",
            get(|| async { page(STYLE, "text/css; charset=utf-8") }),
        )
        .route("/ws", get(websocket))
        .route("/api/targets", get(targets))
        .route("/api/command", post(command))
        .with_state(web)
}

fn page(body: &'static str, kind: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, Json(json!({"error": why}))).into_response()
}

/// Why a request is refused before it is looked at.
struct Refusal(StatusCode, &'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refuse(self.0, self.1)
    }
}

/// The checks every API request passes: its origin, then the token.
fn admitted(web: &Web, headers: &HeaderMap) -> Result<(), Refusal> {
    same_origin(web, headers)?;
    authorized(web, headers)
}

/// Host and Origin: the page's own origin only.
fn same_origin(web: &Web, headers: &HeaderMap) -> Result<(), Refusal> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if web.loopback && !is_loopback_host(host) {
        return Err(Refusal(
            StatusCode::FORBIDDEN,
            "this dashboard answers only to localhost, 127.0.0.1 and [::1]",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
        if authority != host {
            return Err(Refusal(
                StatusCode::FORBIDDEN,
                "requests from another site's page are refused",
            ));
        }
    }
    Ok(())
}

fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

/// The bearer token, when one is set.
fn authorized(web: &Web, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(token) = &web.token else {
        return Ok(());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    match presented {
        Some(header) if token.matches_header(header) => Ok(()),
        Some(_) => Err(Refusal(StatusCode::UNAUTHORIZED, "wrong token")),
        None => Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "a token is needed: Authorization: Bearer <token>",
        )),
    }
}

async fn targets(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    if let Err(refused) = admitted(&web, &headers) {
        return refused.into_response();
    }
    let list: Vec<Value> = web
        .relay
        .targets()
        .into_iter()
        .map(|(id, target)| {
            target.with_status(|status| {
                json!({
                    "target": id,
                    "connected": status.connected,
                    "process": status.process,
                    "tree": status.tree,
                    "missed": status.missed,
                    "evicted": status.evicted,
                    "events": status.events,
                    "report": status.report,
                    "last_error": status.last_error,
                })
            })
        })
        .collect();
    Json(json!({"control": web.control, "targets": list})).into_response()
}

/// A command from a browser or a script.
#[derive(Debug, Deserialize)]
struct CommandAsk {
    target: String,
    path: String,
    action: String,
    reason: String,
    #[serde(default)]
    operator: String,
    command_id: String,
}

async fn command(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(refused) = admitted(&web, &headers) {
        return refused.into_response();
    }
    let ask = match serde_json::from_slice::<CommandAsk>(&body) {
        Ok(ask) => ask,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, &error.to_string()),
    };
    let (status, answer) = carry_out(&web, ask).await;
    (status, Json(answer)).into_response()
}

/// Checks and sends a command; the answer as JSON with the HTTP status it deserves.
async fn carry_out(web: &Web, ask: CommandAsk) -> (StatusCode, Value) {
    let refused = |status: StatusCode, why: String| {
        (
            status,
            json!({"command_id": ask.command_id, "ok": false, "error": why}),
        )
    };
    if !web.control {
        return refused(
            StatusCode::FORBIDDEN,
            "this dashboard is read-only (start it with --control, or `control: true`, to allow commands)".to_owned(),
        );
    }
    if !ACTIONS.contains(&ask.action.as_str()) {
        return refused(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown action `{}`; one of {}",
                ask.action,
                ACTIONS.join(", ")
            ),
        );
    }
    if ask.reason.trim().is_empty() {
        return refused(StatusCode::BAD_REQUEST, "a reason is needed".to_owned());
    }
    if ask.command_id.trim().is_empty() || ask.command_id.len() > 128 {
        return refused(
            StatusCode::BAD_REQUEST,
            "a command_id of 1 to 128 characters is needed".to_owned(),
        );
    }
    let Some(target) = web.relay.target(&ask.target) else {
        return refused(StatusCode::NOT_FOUND, format!("no target `{}`", ask.target));
    };
    let operator: String = ask
        .operator
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let requested_by = if operator.trim().is_empty() {
        "dashboard".to_owned()
    } else {
        format!("dashboard:{}", operator.trim())
    };
    let request = CommandRequest {
        path: ask.path.clone(),
        action: ask.action.clone(),
        requested_by: requested_by.clone(),
        reason: ask.reason.chars().take(512).collect(),
        command_id: ask.command_id.clone(),
    };
    tracing::info!(target = %ask.target, path = %ask.path, action = %ask.action, by = %requested_by, "dashboard: command");
    match target.command(request).await {
        Ok((repeated, receipt)) => (
            StatusCode::OK,
            json!({"command_id": ask.command_id, "ok": true, "repeated": repeated, "receipt": receipt}),
        ),
        Err(failure) => {
            let status = match failure {
                CommandFailure::Refused(_) => StatusCode::CONFLICT,
                CommandFailure::NotConnected | CommandFailure::Unanswered(_) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            };
            refused(status, failure.to_string())
        }
    }
}

async fn websocket(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(refused) = same_origin(&web, &headers) {
        return refused.into_response();
    }
    // A script may authenticate with the header; a browser cannot set it, and sends the
    // token as its first message instead.
    let pre_authorized = web.token.is_none() || authorized(&web, &headers).is_ok();
    upgrade
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            browser(web, socket, pre_authorized).await;
        })
}

/// One browser: authenticated, then kept up to date every tick, its commands carried out.
async fn browser(web: Arc<Web>, mut socket: WebSocket, mut authorized: bool) {
    let welcome = json!({
        "type": "welcome",
        "auth_required": !authorized,
        "control": web.control,
        "version": env!("CARGO_PKG_VERSION"),
    });
    if send(&mut socket, &welcome).await.is_err() {
        return;
    }
    let (answers, mut answered) = mpsc::channel::<Value>(16);
    let mut seen: std::collections::HashMap<String, Seen> = std::collections::HashMap::new();
    let mut listed: Vec<String> = Vec::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let Ok(message) = serde_json::from_str::<Value>(&text) else {
                    let _ = send(&mut socket, &json!({"type": "error", "error": "not JSON"})).await;
                    continue;
                };
                match message["type"].as_str() {
                    Some("auth") => {
                        let token = message["token"].as_str().unwrap_or("");
                        authorized = web.token.as_ref().is_none_or(|t| t.matches(token));
                        if !authorized {
                            tracing::warn!("dashboard: a browser presented a wrong token");
                            let _ = send(&mut socket, &json!({"type": "auth_failed"})).await;
                            let _ = socket.send(WsMessage::Close(None)).await;
                            return;
                        }
                        let _ = send(&mut socket, &json!({"type": "authenticated"})).await;
                    }
                    _ if !authorized => {
                        let _ = send(&mut socket, &json!({"type": "auth_failed"})).await;
                        let _ = socket.send(WsMessage::Close(None)).await;
                        return;
                    }
                    Some("command") => {
                        let ask = serde_json::from_value::<CommandAsk>(message);
                        let web = Arc::clone(&web);
                        let answers = answers.clone();
                        tokio::spawn(async move {
                            let answer = match ask {
                                Ok(ask) => carry_out(&web, ask).await.1,
                                Err(error) => json!({"ok": false, "error": error.to_string()}),
                            };
                            let mut message = json!({"type": "command_result"});
                            message["result"] = answer;
                            let _ = answers.send(message).await;
                        });
                    }
                    _ => {
                        let _ = send(&mut socket, &json!({"type": "error", "error": "unknown message type"})).await;
                    }
                }
            }
            Some(answer) = answered.recv() => {
                if send(&mut socket, &answer).await.is_err() {
                    return;
                }
            }
            _ = tick.tick(), if authorized => {
                let targets = web.relay.targets();
                seen.retain(|id, _| targets.iter().any(|(known, _)| known == id));
                let mut messages = Vec::new();
                for (id, target) in &targets {
                    messages.extend(seen.entry(id.clone()).or_default().update(id, target));
                }
                let ids: Vec<String> = targets.iter().map(|(id, _)| id.clone()).collect();
                if ids != listed {
                    messages.insert(0, json!({"type": "targets", "targets": ids}));
                    listed = ids;
                }
                for message in &messages {
                    if send(&mut socket, message).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Sends one message; a browser that does not take it within [`SEND_TIMEOUT`] is given up.
async fn send(socket: &mut WebSocket, message: &Value) -> Result<(), ()> {
    let text = message.to_string();
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(WsMessage::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(()),
        Err(_) => {
            tracing::warn!("dashboard: dropping a browser that stopped reading");
            Err(())
        }
    }
}
